package remotion

import "encoding/json"

// Progress is the part of getRenderProgress()'s reply this project reports.
type Progress struct {
	reply
	RenderID              string        `json:"renderId"`
	Done                  bool          `json:"done"`
	FatalErrorEncountered bool          `json:"fatalErrorEncountered"`
	OverallProgress       float64       `json:"overallProgress"`
	FramesRendered        int           `json:"framesRendered"`
	OutputFile            *string       `json:"outputFile"`
	OutBucket             *string       `json:"outBucket"`
	OutKey                *string       `json:"outKey"`
	OutputSizeInBytes     *int64        `json:"outputSizeInBytes"`
	TimeToFinish          *int64        `json:"timeToFinish"`
	Errors                []RenderError `json:"errors"`
	Costs                 Costs         `json:"costs"`
}

// RenderError is one error the render reported. Stack traces are not kept.
type RenderError struct {
	Name          string `json:"name"`
	Message       string `json:"message"`
	IsFatal       bool   `json:"isFatal"`
	Chunk         *int   `json:"chunk"`
	Frame         *int   `json:"frame"`
	Attempt       int    `json:"attempt"`
	WillRetry     bool   `json:"willRetry"`
	TotalAttempts int    `json:"totalAttempts"`
}

// Costs is Remotion's estimate of what the render has cost so far.
type Costs struct {
	// AccruedSoFar is an exact decimal: json.Number keeps its digits.
	AccruedSoFar json.Number `json:"accruedSoFar"`
	DisplayCost  string      `json:"displayCost"`
	Currency     string      `json:"currency"`
	Disclaimer   string      `json:"disclaimer"`
}

// State is where a render stands.
type State string

const (
	StateRendering State = "rendering"
	StateDone      State = "done"
	StateFailed    State = "failed"
)

// State reads the render's state: a failed render still replies
// "type":"success", with fatalErrorEncountered set.
func (p *Progress) State() State {
	switch {
	case p.FatalErrorEncountered:
		return StateFailed
	case p.Done:
		return StateDone
	default:
		return StateRendering
	}
}

// StartResult is what renderMediaOnLambda() returns.
type StartResult struct {
	reply
	RenderID   string `json:"renderId"`
	BucketName string `json:"bucketName"`
}

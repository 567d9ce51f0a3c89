package api

import (
	"encoding/json"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"remotion-lambda-iam/lambda/remotion"
)

// apiError is a failed request: the status, a stable code a program can
// switch on, and a message a person can act on.
type apiError struct {
	Status  int
	Code    string
	Field   string
	Message string
	cause   error // logged, never sent
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

func errorResponse(e *apiError) events.APIGatewayV2HTTPResponse {
	var b errorBody
	b.Error.Code, b.Error.Message, b.Error.Field = e.Code, e.Message, e.Field
	resp := jsonResponse(e.Status, b)
	if e.Status == http.StatusTooManyRequests {
		resp.Headers["Retry-After"] = "1"
	}
	return resp
}

func jsonResponse(status int, v any) events.APIGatewayV2HTTPResponse {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"code":"internal_error","message":"the response could not be encoded"}}`)
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers: map[string]string{
			"Content-Type":           "application/json",
			"Cache-Control":          "no-store",
			"X-Content-Type-Options": "nosniff",
		},
		Body: string(body),
	}
}

type startResponse struct {
	RenderID    string         `json:"renderId"`
	BucketName  string         `json:"bucketName"`
	State       remotion.State `json:"state"`
	ProgressURL string         `json:"progressUrl"`
	Output      *output        `json:"output,omitempty"`
}

// output is where a render into the deployment's output bucket lands.
type output struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	S3URI  string `json:"s3Uri"`
	URL    string `json:"url,omitempty"`
}

func newOutput(bucket, key, url string) *output {
	return &output{Bucket: bucket, Key: key, S3URI: "s3://" + bucket + "/" + key, URL: url}
}

type progressResponse struct {
	RenderID          string          `json:"renderId"`
	BucketName        string          `json:"bucketName"`
	State             remotion.State  `json:"state"`
	OverallProgress   float64         `json:"overallProgress"`
	FramesRendered    int             `json:"framesRendered"`
	OutputFile        *string         `json:"outputFile"`
	OutputSizeInBytes *int64          `json:"outputSizeInBytes"`
	Output            *output         `json:"output,omitempty"`
	TimeToFinishMs    *int64          `json:"timeToFinishInMilliseconds"`
	Errors            []progressError `json:"errors"`
	Costs             progressCosts   `json:"costs"`
}

type progressError struct {
	Message   string `json:"message"`
	Name      string `json:"name,omitempty"`
	Fatal     bool   `json:"fatal"`
	Chunk     *int   `json:"chunk"`
	Frame     *int   `json:"frame"`
	Attempt   int    `json:"attempt"`
	WillRetry bool   `json:"willRetry"`
}

type progressCosts struct {
	AccruedSoFar float64 `json:"accruedSoFar"`
	DisplayCost  string  `json:"displayCost"`
	Currency     string  `json:"currency"`
}

func newProgressResponse(renderID, bucket string, p *remotion.Progress) progressResponse {
	r := progressResponse{
		RenderID:          renderID,
		BucketName:        bucket,
		State:             p.State(),
		OverallProgress:   p.OverallProgress,
		FramesRendered:    p.FramesRendered,
		OutputFile:        p.OutputFile,
		OutputSizeInBytes: p.OutputSizeInBytes,
		TimeToFinishMs:    p.TimeToFinish,
		Errors:            make([]progressError, 0, len(p.Errors)),
		Costs:             progressCosts{AccruedSoFar: p.Costs.AccruedSoFar, DisplayCost: p.Costs.DisplayCost, Currency: p.Costs.Currency},
	}
	if p.OutBucket != nil && p.OutKey != nil && *p.OutBucket != bucket {
		url := ""
		if p.OutputFile != nil {
			url = *p.OutputFile
		}
		r.Output = newOutput(*p.OutBucket, *p.OutKey, url)
	}
	for _, e := range p.Errors {
		r.Errors = append(r.Errors, progressError{
			Message: e.Message, Name: e.Name, Fatal: e.IsFatal, Chunk: e.Chunk, Frame: e.Frame, Attempt: e.Attempt, WillRetry: e.WillRetry,
		})
	}
	return r
}

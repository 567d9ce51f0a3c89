// Package renderevent is the contract of the events the function puts on
// EventBridge when a render ends: their source, detail types and detail.
// The function publishes them, the stack subscribes to them, and anything
// in the account can. It imports no AWS code.
package renderevent

import (
	"time"

	"remotion-lambda-iam/contract/renderapi"
)

// Source is every event's source.
const Source = "remotion.render"

// Detail types, one per outcome.
const (
	Succeeded = "Render Succeeded"
	Failed    = "Render Failed"
	TimedOut  = "Render Timed Out"
	// Cancelled: a render that waited in line was cancelled before it
	// started; it cost nothing.
	Cancelled = "Render Cancelled"
)

// DefaultBus is the bus events go to when the deployment names none: the
// account's default bus.
const DefaultBus = "default"

// Detail is an event's detail.
type Detail struct {
	// RenderID is the render API's ID of the render.
	RenderID         string          `json:"renderId"`
	RemotionRenderID string          `json:"remotionRenderId,omitempty"`
	BucketName       string          `json:"bucketName,omitempty"`
	Composition      string          `json:"composition"`
	RequestedBy      string          `json:"requestedBy"`
	State            renderapi.State `json:"state"`
	CreatedAt        time.Time       `json:"createdAt"`
	FinishedAt       time.Time       `json:"finishedAt"`
	// With a success:
	OutputFile     string            `json:"outputFile,omitempty"`
	Output         *renderapi.Output `json:"output,omitempty"`
	TimeToFinishMs *int64            `json:"timeToFinishMs,omitempty"`
	Costs          *renderapi.Costs  `json:"costs,omitempty"`
	// With a failure:
	Errors []string `json:"errors,omitempty"`
}

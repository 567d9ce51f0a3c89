// Package renderapi is the render API's public contract: its routes, and
// its requests and answers as JSON. The trigger function serves it, the
// stack deploys its routes, and the render CLI and third parties call it. It
// imports no AWS code, so that each of them can use it without linking the
// others.
package renderapi

import (
	"encoding/json"
	"time"

	"remotion-lambda-iam/lambda/remotion/render"
)

// StartRequest is the body of POST /renders: Remotion's options under their
// own names, and the output key where the deployment has an output bucket.
type StartRequest struct {
	render.Options
	OutputKey *string `json:"outputKey,omitempty"`
}

// Headers of POST /renders.
const (
	// HeaderIdempotencyKey makes a start safe to retry: the same key and
	// body start one render, however often they are sent.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderReplayed, "true", marks an answer repeated for an idempotency key.
	HeaderReplayed = "Idempotency-Replayed"
)

// State is where a render stands.
type State string

const (
	// StateQueued: the render waits its turn for the Lambda capacity it
	// needs; Position says where it stands in line.
	StateQueued State = "queued"
	// StateStarting: this API is sending the start to Remotion.
	StateStarting State = "starting"
	// StateRendering: Remotion accepted the start and is rendering.
	StateRendering State = "rendering"
	// StateUnknown: the start was sent, and its answer did not say whether
	// Remotion launched the render; it may be running and billing. It is
	// never sent again. A completion webhook, if one comes, finishes it.
	StateUnknown State = "unknown"
	StateDone    State = "done"
	StateFailed  State = "failed"
	// StateCancelled: the render was cancelled while it waited; it cost
	// nothing.
	StateCancelled State = "cancelled"
)

// Final reports whether a render in state s is over.
func (s State) Final() bool { return s == StateDone || s == StateFailed || s == StateCancelled }

// StartResponse is the 202 answer of POST /renders.
type StartResponse struct {
	// RenderID is this API's ID of the render, which every route takes.
	RenderID string `json:"renderId"`
	// RemotionRenderID and BucketName are Remotion's names of the render
	// and the bucket that holds its progress and, unless Output says
	// otherwise, its output.
	RemotionRenderID string `json:"remotionRenderId,omitempty"`
	BucketName       string `json:"bucketName,omitempty"`
	State            State  `json:"state"`
	// Position is the render's place in line, from 1, while it is queued.
	Position    int     `json:"position,omitempty"`
	ProgressURL string  `json:"progressUrl"`
	Output      *Output `json:"output,omitempty"`
}

// Output is where a render into the deployment's output bucket lands.
type Output struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	S3URI  string `json:"s3Uri"`
	URL    string `json:"url,omitempty"`
}

// Progress is the 200 answer of GET /renders/{renderId}.
type Progress struct {
	RenderID          string        `json:"renderId"`
	RemotionRenderID  string        `json:"remotionRenderId,omitempty"`
	BucketName        string        `json:"bucketName,omitempty"`
	State             State         `json:"state"`
	Position          int           `json:"position,omitempty"`
	OverallProgress   float64       `json:"overallProgress"`
	FramesRendered    int           `json:"framesRendered"`
	OutputFile        *string       `json:"outputFile"`
	OutputSizeInBytes *int64        `json:"outputSizeInBytes"`
	Output            *Output       `json:"output,omitempty"`
	TimeToFinishMs    *int64        `json:"timeToFinishMs"`
	Errors            []RenderError `json:"errors"`
	Costs             *Costs        `json:"costs"`
}

// RenderError is one error a render met, fatal or retried.
type RenderError struct {
	Message   string `json:"message"`
	Name      string `json:"name,omitempty"`
	Fatal     bool   `json:"fatal"`
	Chunk     *int   `json:"chunk"`
	Frame     *int   `json:"frame"`
	Attempt   int    `json:"attempt"`
	WillRetry bool   `json:"willRetry"`
}

// Costs is Remotion's estimate of what a render has cost: so far while it
// runs, in all once it is over.
type Costs struct {
	// EstimatedCost is an exact decimal, as Remotion computed it.
	EstimatedCost json.Number `json:"estimatedCost"`
	DisplayCost   string      `json:"displayCost"`
	Currency      string      `json:"currency"`
	Disclaimer    string      `json:"disclaimer"`
}

// CostDisclaimer goes with every cost this API shows.
const CostDisclaimer = "Remotion's estimate of the Lambda time its functions used. It leaves out what AWS bills besides: " +
	"S3 storage and requests, data transfer out (egress), CloudWatch Logs, DynamoDB, API Gateway and this API's own function."

// CostsByDay is the 200 answer of GET /renders/costs and
// GET /renders/all/costs: what renders started on each UTC day cost.
type CostsByDay struct {
	From string    `json:"from"`
	To   string    `json:"to"`
	Days []DayCost `json:"days"`
	// Total is the sum of the days' Spent; Currency its currency.
	Total      json.Number `json:"total"`
	Currency   string      `json:"currency"`
	Disclaimer string      `json:"disclaimer"`
}

// DayCost is what one caller's renders started on one day cost.
type DayCost struct {
	Date   string `json:"date"`
	Caller string `json:"caller,omitempty"` // on the operators' route
	// Spent is what the renders that are over cost; Pending the estimate
	// of those still queued or running.
	Spent    json.Number `json:"spent"`
	Pending  json.Number `json:"pending"`
	Renders  int         `json:"renders"`
	Currency string      `json:"currency"`
}

// SpendLimit is a limit a start would pass: the answer of a 429
// spend_limit_reached says which.
type SpendLimit struct {
	// Period is "day" (the caller's, dailySpendLimit) or "month" (the
	// deployment's, monthlySpendLimit).
	Period string      `json:"period"`
	Limit  json.Number `json:"limit"`
	// Spent counts what renders cost and the estimates of those queued or
	// running.
	Spent    json.Number `json:"spent"`
	ResetsAt time.Time   `json:"resetsAt"`
}

// Render is the record of a render: who started what, when, and how it ended.
type Render struct {
	RenderID         string     `json:"renderId"`
	RemotionRenderID string     `json:"remotionRenderId,omitempty"`
	BucketName       string     `json:"bucketName,omitempty"`
	Composition      string     `json:"composition"`
	ServeURL         string     `json:"serveUrl"`
	Output           *Output    `json:"output,omitempty"`
	RequestedBy      string     `json:"requestedBy"`
	RequestID        string     `json:"requestId"`
	CreatedAt        time.Time  `json:"createdAt"`
	State            State      `json:"state"`
	FinishedAt       *time.Time `json:"finishedAt,omitempty"`
	OutputFile       *string    `json:"outputFile,omitempty"`
	TimeToFinishMs   *int64     `json:"timeToFinishMs,omitempty"`
	Errors           []string   `json:"errors,omitempty"`
	Costs            *Costs     `json:"costs,omitempty"`
}

// RenderList is the 200 answer of GET /renders and GET /renders/all, newest
// first. NextCursor, when set, fetches the next page (?cursor=).
type RenderList struct {
	Renders    []Render `json:"renders"`
	NextCursor string   `json:"nextCursor,omitempty"`
}

// Queue is the 200 answer of GET /renders/all/queue: the deployment's
// budget, what its renders use of it, and the line.
type Queue struct {
	// Budget is the Lambda executions the deployment's renders may use at
	// once; InUse what the renders that started hold of it.
	Budget int `json:"budget"`
	InUse  int `json:"inUse"`
	// Queued is how many renders wait; OldestWaitMs how long the first
	// has waited.
	Queued       int   `json:"queued"`
	OldestWaitMs int64 `json:"oldestWaitMs"`
	// InFlight is how many renders hold capacity: started, or being sent.
	InFlight int `json:"inFlight"`
	// PausedUntil, when set, is when the line moves again after Lambda
	// throttled a start.
	PausedUntil *time.Time `json:"pausedUntil,omitempty"`
}

// WebhookReceipt is the 200 answer to a webhook.
type WebhookReceipt struct {
	Received bool `json:"received"`
	// Duplicate: the outcome was already received; nothing more was done.
	Duplicate bool `json:"duplicate,omitempty"`
	// Demo: a test delivery, verified and not stored.
	Demo bool `json:"demo,omitempty"`
}

// ErrorResponse is the body of every answer that is not 2xx.
type ErrorResponse struct {
	Error Error `json:"error"`
}

// Error says what went wrong: a stable code a program can switch on, a
// message a person can act on and, for a bad request, the field at fault.
type Error struct {
	Code    ErrorCode `json:"code"`
	Message string    `json:"message"`
	Field   string    `json:"field,omitempty"`
	// RenderID, with start_outcome_unknown, is the render to look for.
	RenderID string `json:"renderId,omitempty"`
	// SpendLimit, with spend_limit_reached, is the limit.
	SpendLimit *SpendLimit `json:"spendLimit,omitempty"`
}

// ErrorCode is the stable name of a failure.
type ErrorCode string

// Errors of the request (4xx).
const (
	CodeUnsupportedMediaType ErrorCode = "unsupported_media_type"
	CodeMalformedBody        ErrorCode = "malformed_body"
	CodeBodyTooLarge         ErrorCode = "body_too_large"
	CodeEmptyBody            ErrorCode = "empty_body"
	CodeMalformedJSON        ErrorCode = "malformed_json"
	CodeWrongType            ErrorCode = "wrong_type"
	CodeUnknownField         ErrorCode = "unknown_field"
	CodeMissingField         ErrorCode = "missing_field"
	CodeInvalidValue         ErrorCode = "invalid_value"
	CodeServeURLNotAllowed   ErrorCode = "serve_url_not_allowed"
	CodeNoOutputBucket       ErrorCode = "no_output_bucket"
	CodeNotFound             ErrorCode = "not_found"
	// CodeRenderNotFound: no render of the caller's has that ID.
	CodeRenderNotFound ErrorCode = "render_not_found"
	CodeThrottled      ErrorCode = "throttled"
	// CodeIdempotencyKeyReused: the key came with another body before.
	CodeIdempotencyKeyReused ErrorCode = "idempotency_key_reused"
	// CodeIdempotencyInProgress: the first request with the key is still
	// running; retry after Retry-After.
	CodeIdempotencyInProgress ErrorCode = "idempotency_in_progress"
	// CodeBadSignature: a webhook whose signature is missing or wrong.
	CodeBadSignature ErrorCode = "bad_signature"
	// CodeQueueFull: the line is as long as the deployment allows, or the
	// caller has as many renders in it as one caller may.
	CodeQueueFull ErrorCode = "queue_full"
	// CodeRenderStarted: the render cannot be cancelled: it started.
	CodeRenderStarted ErrorCode = "render_started"
	// CodeRenderFinished: the render is over.
	CodeRenderFinished ErrorCode = "render_finished"
	// CodeOverBudget: the render needs more Lambda executions at once than
	// the deployment's whole budget.
	CodeOverBudget ErrorCode = "over_budget"
	// CodeInputPropsTooLarge: inputProps too large to wait in line.
	CodeInputPropsTooLarge ErrorCode = "input_props_too_large"
	// CodeSpendLimitReached: the start could take a spend past its limit;
	// nothing was started.
	CodeSpendLimitReached ErrorCode = "spend_limit_reached"
)

// Errors of the render function or of this deployment (5xx).
const (
	CodeVersionMismatch        ErrorCode = "version_mismatch"
	CodeRenderFunctionNotFound ErrorCode = "render_function_not_found"
	CodeAccessDenied           ErrorCode = "access_denied"
	CodeUpstreamTimeout        ErrorCode = "upstream_timeout"
	// CodeStartOutcomeUnknown: the start was sent, and nothing proves that
	// it did not launch the render. It is never sent again: not by a retry,
	// not with the same Idempotency-Key (409 from then on).
	CodeStartOutcomeUnknown ErrorCode = "start_outcome_unknown"
	CodeRenderRejected      ErrorCode = "render_rejected"
	CodeRenderFunctionError ErrorCode = "render_function_error"
	CodeUpstreamError       ErrorCode = "upstream_error"
	CodeConfigurationError  ErrorCode = "configuration_error"
	CodeInternalError       ErrorCode = "internal_error"
	// CodeRecordsUnavailable: the render table could not be read or written.
	CodeRecordsUnavailable ErrorCode = "records_unavailable"
	// CodeSecretUnavailable: the webhook secret could not be read.
	CodeSecretUnavailable ErrorCode = "webhook_secret_unavailable"
	// CodeEventsUnavailable: EventBridge did not take the outcome's event;
	// the webhook's sender retries.
	CodeEventsUnavailable ErrorCode = "events_unavailable"
)

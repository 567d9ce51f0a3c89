package api

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"remotion-lambda-iam/lambda/api/wire"
	"remotion-lambda-iam/lambda/remotion"
)

// apiError is a failed request: the status, a stable code a program can
// switch on, and a message a person can act on.
type apiError struct {
	Status  int
	Code    wire.ErrorCode
	Field   string
	Message string
	cause   error // logged, never sent
	// retryAfter, in seconds, is sent as Retry-After.
	retryAfter int
}

func errorResponse(e *apiError) events.APIGatewayV2HTTPResponse {
	resp := jsonResponse(e.Status, wire.ErrorResponse{Error: wire.Error{Code: e.Code, Message: e.Message, Field: e.Field}})
	switch {
	case e.retryAfter > 0:
		resp.Headers["Retry-After"] = strconv.Itoa(e.retryAfter)
	case e.Status == http.StatusTooManyRequests:
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

func newOutput(bucket, key, url string) *wire.Output {
	return &wire.Output{Bucket: bucket, Key: key, S3URI: "s3://" + bucket + "/" + key, URL: url}
}

// stateOf says where a render stands in the API's terms.
func stateOf(p *remotion.Progress) wire.State {
	switch p.State() {
	case remotion.StateDone:
		return wire.StateDone
	case remotion.StateFailed:
		return wire.StateFailed
	default:
		return wire.StateRendering
	}
}

func newProgress(renderID, bucket string, p *remotion.Progress) wire.Progress {
	r := wire.Progress{
		RenderID:          renderID,
		BucketName:        bucket,
		State:             stateOf(p),
		OverallProgress:   p.OverallProgress,
		FramesRendered:    p.FramesRendered,
		OutputFile:        p.OutputFile,
		OutputSizeInBytes: p.OutputSizeInBytes,
		TimeToFinishMs:    p.TimeToFinish,
		Errors:            make([]wire.RenderError, 0, len(p.Errors)),
		Costs:             wire.Costs{AccruedSoFar: p.Costs.AccruedSoFar, DisplayCost: p.Costs.DisplayCost, Currency: p.Costs.Currency},
	}
	if p.OutBucket != nil && p.OutKey != nil && *p.OutBucket != bucket {
		url := ""
		if p.OutputFile != nil {
			url = *p.OutputFile
		}
		r.Output = newOutput(*p.OutBucket, *p.OutKey, url)
	}
	for _, e := range p.Errors {
		r.Errors = append(r.Errors, wire.RenderError{
			Message: e.Message, Name: e.Name, Fatal: e.IsFatal, Chunk: e.Chunk, Frame: e.Frame, Attempt: e.Attempt, WillRetry: e.WillRetry,
		})
	}
	return r
}

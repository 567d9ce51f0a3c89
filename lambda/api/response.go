package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"remotion-lambda-iam/contract/renderapi"
	"remotion-lambda-iam/lambda/lifecycle"
	"remotion-lambda-iam/lambda/records"
	"remotion-lambda-iam/lambda/remotion"
	"remotion-lambda-iam/lambda/remotion/render"
)

// apiError is a failed request: the status, a stable code a program can
// switch on, and a message a person can act on.
type apiError struct {
	Status   int
	Code     renderapi.ErrorCode
	Field    string
	Message  string
	RenderID string
	// SpendLimit, with spend_limit_reached, is the limit.
	SpendLimit *renderapi.SpendLimit
	cause      error // logged, never sent
	// retryAfter, in seconds, is sent as Retry-After.
	retryAfter int
}

func errorResponse(e *apiError) events.APIGatewayV2HTTPResponse {
	resp := jsonResponse(e.Status, renderapi.ErrorResponse{Error: renderapi.Error{Code: e.Code, Message: e.Message, Field: e.Field, RenderID: e.RenderID, SpendLimit: e.SpendLimit}})
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

// failure maps what the lifecycle or the render function said to a status
// and code.
func failure(err error) *apiError {
	var (
		verr  *render.ValidationError
		rerr  *remotion.Error
		rend  *lifecycle.RenderError
		spend *lifecycle.SpendLimitError
	)
	a := &apiError{Status: http.StatusBadGateway, cause: err}
	if errors.As(err, &rend) {
		a.RenderID = rend.RenderID
	}
	switch {
	case errors.As(err, &verr):
		return validationError(verr)
	case errors.Is(err, lifecycle.ErrKeyReused):
		a.Status, a.Code, a.Field = http.StatusUnprocessableEntity, renderapi.CodeIdempotencyKeyReused, renderapi.HeaderIdempotencyKey
		a.Message = "this Idempotency-Key came with another request body before: use a new key for a new render"
	case errors.Is(err, lifecycle.ErrKeyInProgress):
		a.Status, a.Code, a.Field, a.retryAfter = http.StatusConflict, renderapi.CodeIdempotencyInProgress, renderapi.HeaderIdempotencyKey, 2
		a.Message = "the first request with this Idempotency-Key is still starting the render: retry after Retry-After seconds"
	case errors.Is(err, lifecycle.ErrOutcomeUnknown) && !errors.As(err, &rerr):
		// A repeat of a key whose start's outcome is unknown.
		a.Status, a.Code, a.Field = http.StatusConflict, renderapi.CodeStartOutcomeUnknown, renderapi.HeaderIdempotencyKey
		a.Message = "the first request with this Idempotency-Key may have started the render, and its outcome is unknown: " +
			"look for it with GET /renders/{renderId} before you start another; this key will not start a second one"
	case errors.Is(err, lifecycle.ErrRecordsUnavailable):
		a.Status, a.Code = http.StatusServiceUnavailable, renderapi.CodeRecordsUnavailable
		a.Message = "the render records could not be read or written: retry shortly"
	case errors.Is(err, lifecycle.ErrSecretUnavailable):
		a.Status, a.Code = http.StatusServiceUnavailable, renderapi.CodeSecretUnavailable
		a.Message = "the webhook secret could not be read, and nothing was started: retry shortly"
	case errors.Is(err, lifecycle.ErrLineFull):
		a.Status, a.Code, a.retryAfter = http.StatusTooManyRequests, renderapi.CodeQueueFull, 30
		a.Message = "the line of renders waiting their turn is as long as this deployment allows, or you have as many renders in it as one caller may (context keys maxQueuedRenders, maxQueuedPerCaller): retry later"
	case errors.Is(err, lifecycle.ErrOverBudget):
		a.Status, a.Code, a.Field = http.StatusBadRequest, renderapi.CodeOverBudget, "concurrency"
		a.Message = err.Error() + ": set a lower concurrency, raise the budget (context key renderConcurrencyBudget, or the account's quota: npx remotion lambda quotas increase)"
	case errors.Is(err, lifecycle.ErrPropsTooLarge):
		a.Status, a.Code, a.Field = http.StatusRequestEntityTooLarge, renderapi.CodeInputPropsTooLarge, "inputProps"
		a.Message = "a render that may wait its turn keeps its options in the render table, where inputProps can be at most about 340 KB: send less, such as a URL your composition fetches"
	case errors.Is(err, lifecycle.ErrStarted):
		a.Status, a.Code = http.StatusConflict, renderapi.CodeRenderStarted
		a.Message = "the render started, and cannot be cancelled: it runs to its end"
	case errors.Is(err, lifecycle.ErrFinished):
		a.Status, a.Code = http.StatusConflict, renderapi.CodeRenderFinished
		a.Message = "the render is over: there is nothing to cancel"
	case errors.As(err, &spend):
		a.Status, a.Code = http.StatusTooManyRequests, renderapi.CodeSpendLimitReached
		a.retryAfter = max(1, int(time.Until(spend.ResetsAt).Seconds()))
		a.Message = err.Error() + ": nothing was started (context keys dailySpendLimit, monthlySpendLimit)"
		a.SpendLimit = &renderapi.SpendLimit{Period: spend.Period, Limit: json.Number(spend.Limit.FloatString(2)),
			Spent: json.Number(strings.TrimRight(strings.TrimRight(spend.Exposure.FloatString(12), "0"), ".")), ResetsAt: spend.ResetsAt}
	case errors.Is(err, lifecycle.ErrBudgetUnavailable):
		a.Code, a.Message = renderapi.CodeUpstreamError, "the account's Lambda concurrency could not be read (lambda:GetAccountSettings): retry shortly"
	case errors.Is(err, lifecycle.ErrEventsUnavailable):
		a.Code, a.Message = renderapi.CodeEventsUnavailable, "the render's event could not be published: send the webhook again"
	case errors.As(err, &rerr):
		a.Message = rerr.Message
		a.Code = upstreamCodes[rerr.Kind]
		switch rerr.Kind {
		case remotion.KindThrottled:
			a.Status = http.StatusTooManyRequests
		case remotion.KindTimeout:
			a.Status = http.StatusGatewayTimeout
		case remotion.KindOutcomeUnknown:
			if errors.Is(err, context.DeadlineExceeded) {
				a.Status = http.StatusGatewayTimeout
			}
			if a.RenderID != "" {
				a.Message += ": its record is GET /renders/" + a.RenderID
			}
		}
	default:
		a.Code, a.Message = renderapi.CodeUpstreamError, "calling the render function failed"
	}
	return a
}

// upstreamCodes name each kind of failure of the render function.
var upstreamCodes = map[remotion.Kind]renderapi.ErrorCode{
	remotion.KindUpstream:         renderapi.CodeUpstreamError,
	remotion.KindVersionMismatch:  renderapi.CodeVersionMismatch,
	remotion.KindFunctionNotFound: renderapi.CodeRenderFunctionNotFound,
	remotion.KindAccessDenied:     renderapi.CodeAccessDenied,
	remotion.KindThrottled:        renderapi.CodeThrottled,
	remotion.KindTimeout:          renderapi.CodeUpstreamTimeout,
	remotion.KindRenderRejected:   renderapi.CodeRenderRejected,
	remotion.KindFunctionCrashed:  renderapi.CodeRenderFunctionError,
	remotion.KindOutcomeUnknown:   renderapi.CodeStartOutcomeUnknown,
}

// renderOf is a record as the API shows it.
func renderOf(r *records.Render) renderapi.Render {
	out := renderapi.Render{
		RenderID:         r.RenderID,
		RemotionRenderID: r.RemotionRenderID,
		BucketName:       r.BucketName,
		Composition:      r.Composition,
		ServeURL:         r.ServeURL,
		Output:           lifecycle.OutputOf(r),
		RequestedBy:      r.RequestedBy,
		RequestID:        r.RequestID,
		CreatedAt:        r.CreatedAt,
		State:            renderapi.State(r.State),
		FinishedAt:       r.FinishedAt,
		TimeToFinishMs:   r.TimeToFinishMs,
		Errors:           r.Errors,
		Costs:            lifecycle.CostsOf(r.Costs),
	}
	if r.OutputFile != "" {
		out.OutputFile = &r.OutputFile
	}
	return out
}

// progressOf answers GET /renders/{renderId}: from Remotion's answer where
// there is one, from the record otherwise.
func progressOf(renderID, bucket string, p *lifecycle.Progress) renderapi.Progress {
	out := renderapi.Progress{RenderID: renderID, RemotionRenderID: renderID, BucketName: bucket, Errors: []renderapi.RenderError{}}
	if r := p.Record; r != nil {
		out.RenderID, out.RemotionRenderID, out.BucketName = r.RenderID, r.RemotionRenderID, r.BucketName
		out.State, out.TimeToFinishMs, out.Costs, out.Output = renderapi.State(r.State), r.TimeToFinishMs, lifecycle.CostsOf(r.Costs), lifecycle.OutputOf(r)
		if r.OutputFile != "" {
			out.OutputFile = &r.OutputFile
		}
		if r.State == records.Done {
			out.OverallProgress = 1
		}
		for _, e := range r.Errors {
			out.Errors = append(out.Errors, renderapi.RenderError{Message: e, Fatal: true})
		}
		if r.State == records.Unknown {
			out.Errors = append(out.Errors, renderapi.RenderError{Fatal: false,
				Message: "the start was sent and its answer did not say whether the render was launched; it was not sent again, and its webhook will finish this record if it comes"})
		}
	}
	live := p.Live
	if live == nil {
		return out
	}
	if p.Record == nil || !p.Record.State.Final() {
		out.State = stateOf(live)
		out.Costs = &renderapi.Costs{EstimatedCost: live.Costs.AccruedSoFar, DisplayCost: live.Costs.DisplayCost, Currency: live.Costs.Currency,
			Disclaimer: renderapi.CostDisclaimer}
		out.OutputFile, out.TimeToFinishMs = live.OutputFile, live.TimeToFinish
		out.Errors = out.Errors[:0]
		for _, e := range live.Errors {
			out.Errors = append(out.Errors, renderapi.RenderError{
				Message: e.Message, Name: e.Name, Fatal: e.IsFatal, Chunk: e.Chunk, Frame: e.Frame, Attempt: e.Attempt, WillRetry: e.WillRetry,
			})
		}
	}
	out.OverallProgress, out.FramesRendered, out.OutputSizeInBytes = live.OverallProgress, live.FramesRendered, live.OutputSizeInBytes
	if out.Output == nil && live.OutBucket != nil && live.OutKey != nil && *live.OutBucket != out.BucketName {
		out.Output = &renderapi.Output{Bucket: *live.OutBucket, Key: *live.OutKey, S3URI: "s3://" + *live.OutBucket + "/" + *live.OutKey}
	}
	if out.Output != nil && live.OutputFile != nil {
		out.Output.URL = *live.OutputFile
	}
	return out
}

// stateOf says where a render stands in the API's terms.
func stateOf(p *remotion.Progress) renderapi.State {
	switch p.State() {
	case remotion.StateDone:
		return renderapi.StateDone
	case remotion.StateFailed:
		return renderapi.StateFailed
	default:
		return renderapi.StateRendering
	}
}

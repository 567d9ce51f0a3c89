package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"remotion-lambda-iam/lambda/api/wire"
	"remotion-lambda-iam/lambda/records"
	"remotion-lambda-iam/lambda/remotion"
)

// Limits of the lists.
const (
	defaultListLimit = 20
	maxListLimit     = 100
)

// staleClaim is how long a key's first request can still be running: past
// the function's own timeout, a key still in progress belongs to a request
// that died after it may have started the render.
const staleClaim = time.Minute

// callerOf names who sent a request: the IAM principal's ARN, or the JWT's
// issuer and subject.
func callerOf(req *events.APIGatewayV2HTTPRequest) string {
	if a := req.RequestContext.Authorizer; a != nil {
		if a.IAM != nil && a.IAM.UserARN != "" {
			return a.IAM.UserARN
		}
		if a.JWT != nil && a.JWT.Claims["sub"] != "" {
			return a.JWT.Claims["iss"] + "#" + a.JWT.Claims["sub"]
		}
	}
	return "anonymous"
}

// idempotencyKey reads the Idempotency-Key header: empty when absent.
func (h *Handler) idempotencyKey(req *events.APIGatewayV2HTTPRequest) (string, *apiError) {
	key := header(req.Headers, wire.HeaderIdempotencyKey)
	if key == "" {
		return "", nil
	}
	if len(key) > 255 || !printableASCII(key) {
		return "", &apiError{Status: http.StatusBadRequest, Code: wire.CodeInvalidValue, Field: wire.HeaderIdempotencyKey,
			Message: "Idempotency-Key must be 1 to 255 printable ASCII characters, such as a UUID"}
	}
	if h.cfg.Records == nil {
		return "", &apiError{Status: http.StatusBadRequest, Code: wire.CodeInvalidValue, Field: wire.HeaderIdempotencyKey,
			Message: "this deployment keeps no render records (renderTracking=false), so it cannot honour an Idempotency-Key: send the request without it, or deploy with renderTracking=true"}
	}
	return key, nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// requestHash identifies a request's content: the same options with the
// same values hash alike, whatever their order or spacing.
func requestHash(sr *wire.StartRequest) string {
	canonical := *sr
	if len(sr.InputProps) > 0 {
		dec := json.NewDecoder(bytes.NewReader(sr.InputProps))
		dec.UseNumber()
		var props any
		if dec.Decode(&props) == nil {
			canonical.InputProps, _ = json.Marshal(props)
		}
	}
	b, _ := json.Marshal(canonical)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// replay answers a request whose idempotency key was claimed before.
func replay(k *records.Key, requestHash string, now time.Time) (events.APIGatewayV2HTTPResponse, *apiError) {
	switch {
	case k.RequestHash != requestHash:
		return events.APIGatewayV2HTTPResponse{}, &apiError{Status: http.StatusUnprocessableEntity, Code: wire.CodeIdempotencyKeyReused,
			Field: wire.HeaderIdempotencyKey, Message: "this Idempotency-Key came with another request body before: use a new key for a new render"}
	case k.State == records.KeyDone:
		var body wire.StartResponse
		json.Unmarshal([]byte(k.Response), &body)
		resp := events.APIGatewayV2HTTPResponse{StatusCode: http.StatusAccepted, Body: k.Response}
		resp.Headers = jsonResponse(http.StatusAccepted, nil).Headers
		resp.Headers["Location"] = body.ProgressURL
		resp.Headers[wire.HeaderReplayed] = "true"
		return resp, nil
	case k.State == records.KeyOutcomeUnknown || now.Sub(k.ClaimedAt) > staleClaim:
		return events.APIGatewayV2HTTPResponse{}, &apiError{Status: http.StatusConflict, Code: wire.CodeStartOutcomeUnknown,
			Field: wire.HeaderIdempotencyKey, Message: "the first request with this Idempotency-Key may have started the render, and its outcome is unknown: " +
				"look for it with GET /renders before you start another; this key will not start a second one"}
	default:
		return events.APIGatewayV2HTTPResponse{}, &apiError{Status: http.StatusConflict, Code: wire.CodeIdempotencyInProgress, retryAfter: 2,
			Field: wire.HeaderIdempotencyKey, Message: "the first request with this Idempotency-Key is still starting the render: retry after Retry-After seconds"}
	}
}

// settleKey records how the start for a claimed key ended. A start that
// certainly did not happen frees the key for a retry; one that may have
// happened keeps it, so that it never starts a second render.
func (h *Handler) settleKey(ctx context.Context, caller, key string, aerr *apiError, response string) {
	var err error
	switch {
	case aerr == nil:
		err = h.cfg.Records.Complete(ctx, caller, key, response)
	case aerr.Code == wire.CodeStartOutcomeUnknown:
		err = h.cfg.Records.MarkUnknown(ctx, caller, key)
	default:
		err = h.cfg.Records.Release(ctx, caller, key)
	}
	if err != nil {
		h.log.LogAttrs(ctx, slog.LevelError, "idempotency key not settled", slog.String("error", err.Error()))
	}
}

// recordStart writes the record of a render that started. The render runs
// whatever happens here, so a failure is logged, not answered.
func (h *Handler) recordStart(ctx context.Context, req *events.APIGatewayV2HTTPRequest, body wire.StartResponse, serveURL, composition string) {
	if h.cfg.Records == nil {
		return
	}
	err := h.cfg.Records.Create(ctx, wire.Render{
		RenderID:    body.RenderID,
		BucketName:  body.BucketName,
		Composition: composition,
		ServeURL:    serveURL,
		Output:      body.Output,
		RequestedBy: callerOf(req),
		RequestID:   req.RequestContext.RequestID,
		CreatedAt:   time.Now(),
		State:       wire.StateRendering,
	})
	if err != nil {
		h.log.LogAttrs(ctx, slog.LevelError, "render started but not recorded", slog.String("renderId", body.RenderID), slog.String("error", err.Error()))
	}
}

// finishRecord moves a record to the final state a status call saw.
func (h *Handler) finishRecord(ctx context.Context, renderID string, p *remotion.Progress) {
	state := stateOf(p)
	if h.cfg.Records == nil || !state.Final() {
		return
	}
	o := records.Outcome{State: state, FinishedAt: time.Now(), OutputFile: p.OutputFile,
		Costs: &wire.Costs{AccruedSoFar: p.Costs.AccruedSoFar, DisplayCost: p.Costs.DisplayCost, Currency: p.Costs.Currency}}
	for _, e := range p.Errors {
		if e.IsFatal {
			o.Errors = append(o.Errors, e.Message)
		}
	}
	if _, err := h.cfg.Records.Finish(ctx, renderID, o); err != nil {
		h.log.LogAttrs(ctx, slog.LevelError, "record not finished", slog.String("renderId", renderID), slog.String("error", err.Error()))
	}
}

// progressOf answers GET /renders/{renderId} from a final record.
func progressOf(r *wire.Render) wire.Progress {
	p := wire.Progress{
		RenderID:   r.RenderID,
		BucketName: r.BucketName,
		State:      r.State,
		OutputFile: r.OutputFile,
		Output:     r.Output,
		Errors:     make([]wire.RenderError, 0, len(r.Errors)),
	}
	if r.State == wire.StateDone {
		p.OverallProgress = 1
	}
	for _, e := range r.Errors {
		p.Errors = append(p.Errors, wire.RenderError{Message: e, Fatal: true})
	}
	if r.Costs != nil {
		p.Costs = *r.Costs
	}
	return p
}

// list answers GET /renders (the caller's own) and GET /renders/all.
func (h *Handler) list(ctx context.Context, req *events.APIGatewayV2HTTPRequest, everyone bool) (events.APIGatewayV2HTTPResponse, *apiError) {
	if h.cfg.Records == nil {
		return events.APIGatewayV2HTTPResponse{}, &apiError{Status: http.StatusNotFound, Code: wire.CodeNotFound,
			Message: "this deployment keeps no render records (renderTracking=false)"}
	}
	limit := defaultListLimit
	if v := req.QueryStringParameters["limit"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListLimit {
			return events.APIGatewayV2HTTPResponse{}, &apiError{Status: http.StatusBadRequest, Code: wire.CodeInvalidValue, Field: "limit",
				Message: fmt.Sprintf("limit must be a whole number from 1 to %d", maxListLimit)}
		}
		limit = n
	}
	caller := callerOf(req)
	if everyone {
		caller = ""
	}
	renders, next, err := h.cfg.Records.List(ctx, caller, limit, req.QueryStringParameters["cursor"])
	if errors.Is(err, records.ErrBadCursor) {
		return events.APIGatewayV2HTTPResponse{}, &apiError{Status: http.StatusBadRequest, Code: wire.CodeInvalidValue, Field: "cursor",
			Message: "cursor must be the nextCursor of an earlier page of this same list"}
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, recordsUnavailable(err)
	}
	return jsonResponse(http.StatusOK, wire.RenderList{Renders: renders, NextCursor: next}), nil
}

func recordsUnavailable(err error) *apiError {
	return &apiError{Status: http.StatusServiceUnavailable, Code: wire.CodeRecordsUnavailable,
		Message: "the render records could not be read or written, and nothing was started: retry shortly", cause: err}
}

package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"remotion-lambda-iam/contract/renderapi"
	"remotion-lambda-iam/lambda/lifecycle"
	"remotion-lambda-iam/lambda/records"
)

// Limits of the lists.
const (
	defaultListLimit = 20
	maxListLimit     = 100
)

// start answers POST /renders.
func (h *Handler) start(ctx context.Context, req *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, string, *apiError) {
	key, aerr := h.idempotencyKey(req)
	if aerr != nil {
		return events.APIGatewayV2HTTPResponse{}, "", aerr
	}
	sr, aerr := h.decodeRequest(req)
	if aerr != nil {
		return events.APIGatewayV2HTTPResponse{}, "", aerr
	}
	hash := requestHash(sr)
	opts, aerr := h.resolve(sr)
	if aerr != nil {
		return events.APIGatewayV2HTTPResponse{}, "", aerr
	}
	started, err := h.renders.Start(ctx, lifecycle.StartRequest{
		Caller:         callerOf(req),
		RequestID:      req.RequestContext.RequestID,
		IdempotencyKey: key,
		RequestHash:    hash,
		Options:        opts,
		WebhookURL:     webhookURL(req),
	})
	if err != nil {
		aerr := failure(err)
		return events.APIGatewayV2HTTPResponse{}, aerr.RenderID, aerr
	}
	r := &started.Render
	body := renderapi.StartResponse{
		RenderID:         r.RenderID,
		RemotionRenderID: r.RemotionRenderID,
		BucketName:       r.BucketName,
		State:            renderapi.State(r.State),
		Position:         started.Position,
		ProgressURL:      progressURL(r, h.renders.Tracking()),
		Output:           lifecycle.OutputOf(r),
	}
	resp := jsonResponse(http.StatusAccepted, body)
	resp.Headers["Location"] = body.ProgressURL
	if started.Replayed {
		resp.Headers[renderapi.HeaderReplayed] = "true"
	}
	return resp, r.RenderID, nil
}

// progressURL is where a render's progress is read: by its ID where it has
// a record, with its bucket where it has none.
func progressURL(r *records.Render, tracked bool) string {
	u := "/renders/" + url.PathEscape(r.RenderID)
	if !tracked {
		u += "?bucket=" + url.QueryEscape(r.BucketName)
	}
	return u
}

// progress answers GET /renders/{renderId}: one of the caller's renders.
func (h *Handler) progress(ctx context.Context, req *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, string, *apiError) {
	return h.read(ctx, req, lifecycle.Reader{Caller: callerOf(req)})
}

// progressAny answers GET /renders/all/{renderId}: anyone's, for operators.
func (h *Handler) progressAny(ctx context.Context, req *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, string, *apiError) {
	return h.read(ctx, req, lifecycle.Reader{Caller: callerOf(req), Operator: true})
}

func (h *Handler) read(ctx context.Context, req *events.APIGatewayV2HTTPRequest, who lifecycle.Reader) (events.APIGatewayV2HTTPResponse, string, *apiError) {
	renderID, bucket, aerr := decodeProgress(req)
	if aerr != nil {
		return events.APIGatewayV2HTTPResponse{}, "", aerr
	}
	if bucket == "" && !h.renders.Tracking() {
		return events.APIGatewayV2HTTPResponse{}, renderID, &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeMissingField, Field: "bucket",
			Message: "this deployment keeps no render records, so it needs the bucket query parameter, as in the progressUrl that POST /renders returned"}
	}
	p, err := h.renders.Progress(ctx, renderID, bucket, who)
	if errors.Is(err, lifecycle.ErrNotFound) {
		return events.APIGatewayV2HTTPResponse{}, renderID, renderNotFound(who.Operator)
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, renderID, failure(err)
	}
	out := progressOf(renderID, bucket, p)
	if out.State == renderapi.StateQueued {
		out.Position = h.renders.Position(ctx, out.RenderID)
	}
	return jsonResponse(http.StatusOK, out), renderID, nil
}

// cancel answers DELETE /renders/{renderId}: one of the caller's renders
// leaves the line.
func (h *Handler) cancel(ctx context.Context, req *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, string, *apiError) {
	renderID, aerr := decodeRenderID(req)
	if aerr != nil {
		return events.APIGatewayV2HTTPResponse{}, "", aerr
	}
	r, err := h.renders.Cancel(ctx, renderID, lifecycle.Reader{Caller: callerOf(req)})
	if errors.Is(err, lifecycle.ErrNotFound) {
		return events.APIGatewayV2HTTPResponse{}, renderID, renderNotFound(false)
	}
	if err != nil {
		aerr := failure(err)
		aerr.RenderID = renderID
		return events.APIGatewayV2HTTPResponse{}, renderID, aerr
	}
	return jsonResponse(http.StatusOK, renderOf(r)), renderID, nil
}

// queue answers GET /renders/all/queue, for operators.
func (h *Handler) queue(ctx context.Context, req *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, string, *apiError) {
	q, err := h.renders.QueueState(ctx)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", failure(err)
	}
	out := renderapi.Queue{Budget: q.Budget, InUse: q.InUse, Queued: q.Queued, InFlight: q.InFlight, OldestWaitMs: q.OldestWait.Milliseconds()}
	if !q.PausedUntil.IsZero() {
		out.PausedUntil = &q.PausedUntil
	}
	return jsonResponse(http.StatusOK, out), "", nil
}

// renderNotFound is the answer for a render the caller has not: the same
// whether it does not exist or is another caller's, so that it never
// confirms that another caller's exists.
func renderNotFound(operator bool) *apiError {
	message := "you have no render of this ID here: use the renderId that POST /renders returned to you. " +
		"Renders that have no record here are read by operators, with GET /renders/all/{renderId}?bucket="
	if operator {
		message = "no render of this ID here: a render that has no record here needs its bucket query parameter"
	}
	return &apiError{Status: http.StatusNotFound, Code: renderapi.CodeRenderNotFound, Message: message}
}

// listOwn answers GET /renders: the caller's renders.
func (h *Handler) listOwn(ctx context.Context, req *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, string, *apiError) {
	return h.list(ctx, req, callerOf(req))
}

// listAll answers GET /renders/all: everyone's, for operators.
func (h *Handler) listAll(ctx context.Context, req *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, string, *apiError) {
	return h.list(ctx, req, "")
}

func (h *Handler) list(ctx context.Context, req *events.APIGatewayV2HTTPRequest, requestedBy string) (events.APIGatewayV2HTTPResponse, string, *apiError) {
	limit := defaultListLimit
	if v := req.QueryStringParameters["limit"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListLimit {
			return events.APIGatewayV2HTTPResponse{}, "", &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeInvalidValue, Field: "limit",
				Message: fmt.Sprintf("limit must be a whole number from 1 to %d", maxListLimit)}
		}
		limit = n
	}
	renders, next, err := h.renders.List(ctx, requestedBy, limit, req.QueryStringParameters["cursor"])
	if errors.Is(err, records.ErrBadCursor) {
		return events.APIGatewayV2HTTPResponse{}, "", &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeInvalidValue, Field: "cursor",
			Message: "cursor must be the nextCursor of an earlier page of this same list"}
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", failure(err)
	}
	page := renderapi.RenderList{Renders: make([]renderapi.Render, 0, len(renders)), NextCursor: next}
	for i := range renders {
		page.Renders = append(page.Renders, renderOf(&renders[i]))
	}
	return jsonResponse(http.StatusOK, page), "", nil
}

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
	key := header(req.Headers, renderapi.HeaderIdempotencyKey)
	if key == "" {
		return "", nil
	}
	if len(key) > 255 || !printableASCII(key) {
		return "", &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeInvalidValue, Field: renderapi.HeaderIdempotencyKey,
			Message: "Idempotency-Key must be 1 to 255 printable ASCII characters, such as a UUID"}
	}
	if !h.renders.Tracking() {
		return "", &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeInvalidValue, Field: renderapi.HeaderIdempotencyKey,
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
func requestHash(sr *renderapi.StartRequest) string {
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

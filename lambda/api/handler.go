// Package api is the trigger function's HTTP API: it turns API Gateway HTTP
// API events (payload format 2.0) into calls of the Remotion client and the
// client's answers and errors into JSON responses with the right status.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"remotion-lambda-iam/lambda/api/wire"
	"remotion-lambda-iam/lambda/env"
	"remotion-lambda-iam/lambda/eventbus"
	"remotion-lambda-iam/lambda/logs"
	"remotion-lambda-iam/lambda/records"
	"remotion-lambda-iam/lambda/remotion"
	"remotion-lambda-iam/lambda/remotion/render"
	"remotion-lambda-iam/lambda/secret"
)

// Config is what a deployment decides about its API.
type Config struct {
	// DefaultServeURL is rendered when a request names no serveUrl.
	DefaultServeURL string
	// ServeURLAllowList holds the patterns a request's serveUrl must match;
	// nil means env.DefaultServeURLPattern.
	ServeURLAllowList []string
	// OutputBucket, when set, receives every render.
	OutputBucket string
	// MaxBodyBytes bounds the request body.
	MaxBodyBytes int
	// DeadlineMargin is kept back from the function's deadline, so that a
	// slow render function gets a 504 from us and not a timeout from Lambda.
	DeadlineMargin time.Duration
	// Records, when set, keeps a record of every render and the idempotency
	// keys; nil means the deployment keeps none (renderTracking=false).
	Records *records.Store
	// WebhookSecret and Events, when set with Records, have every start ask
	// Remotion for a completion webhook, and the outcomes put on the bus.
	WebhookSecret *secret.Source
	Events        *eventbus.Bus
}

// DefaultDeadlineMargin is Config.DeadlineMargin's default.
const DefaultDeadlineMargin = 2 * time.Second

// Handler answers the API's requests. Make one per process.
type Handler struct {
	client    *remotion.Client
	cfg       Config
	serveURLs urlPolicy
	log       *slog.Logger
}

// New makes a Handler that starts and follows renders with client.
func New(client *remotion.Client, cfg Config, log *slog.Logger) (*Handler, error) {
	if cfg.ServeURLAllowList == nil {
		cfg.ServeURLAllowList = []string{env.DefaultServeURLPattern}
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = env.DefaultMaxRequestBodyBytes
	}
	if cfg.DeadlineMargin <= 0 {
		cfg.DeadlineMargin = DefaultDeadlineMargin
	}
	policy, err := newURLPolicy(cfg.ServeURLAllowList)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	return &Handler{client: client, cfg: cfg, serveURLs: policy, log: log}, nil
}

// Handle answers one request. It never returns an error: every failure is a
// JSON response, so that API Gateway passes the reason on to the caller.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (resp events.APIGatewayV2HTTPResponse, _ error) {
	begin := time.Now()
	var renderID string
	var aerr *apiError
	defer func() {
		if p := recover(); p != nil {
			aerr = &apiError{Status: http.StatusInternalServerError, Code: wire.CodeInternalError,
				Message: "the function failed unexpectedly; the request ID is in its logs", cause: fmt.Errorf("panic: %v\n%s", p, debug.Stack())}
			resp = errorResponse(aerr)
			logs.CountPanic(ctx, h.log)
		}
		h.logRequest(ctx, &req, resp.StatusCode, renderID, aerr, time.Since(begin))
	}()

	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-h.cfg.DeadlineMargin))
		defer cancel()
	}

	switch req.RouteKey {
	case wire.RouteStart:
		resp, renderID, aerr = h.start(ctx, &req)
	case wire.RouteProgress:
		resp, renderID, aerr = h.progress(ctx, &req)
	case wire.RouteList:
		resp, aerr = h.list(ctx, &req, false)
	case wire.RouteListAll:
		resp, aerr = h.list(ctx, &req, true)
	case wire.RouteWebhook:
		resp, renderID, aerr = h.webhook(ctx, &req)
	default:
		aerr = &apiError{Status: http.StatusNotFound, Code: wire.CodeNotFound,
			Message: fmt.Sprintf("no route %q: use %q, %q or %q", req.RouteKey, wire.RouteStart, wire.RouteProgress, wire.RouteList)}
	}
	if aerr != nil {
		resp = errorResponse(aerr)
	}
	return resp, nil
}

// Misconfigured is the handler of a function that could not start: it
// answers every request with a 500 that says why.
func Misconfigured(err error) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	resp := errorResponse(&apiError{Status: http.StatusInternalServerError, Code: wire.CodeConfigurationError,
		Message: "the function is misconfigured: " + err.Error()})
	return func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return resp, nil
	}
}

// start answers POST /renders. With an Idempotency-Key, the key is claimed
// before anything is started, so that repeats of the request start nothing
// more, and settled after.
func (h *Handler) start(ctx context.Context, req *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, string, *apiError) {
	key, aerr := h.idempotencyKey(req)
	if aerr != nil {
		return events.APIGatewayV2HTTPResponse{}, "", aerr
	}
	sr, aerr := h.decodeRequest(req)
	if aerr != nil {
		return events.APIGatewayV2HTTPResponse{}, "", aerr
	}
	if key == "" {
		return h.startRender(ctx, req, sr)
	}
	caller, hash := callerOf(req), requestHash(sr)
	prior, err := h.cfg.Records.Claim(ctx, caller, key, hash)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", recordsUnavailable(err)
	}
	if prior != nil {
		resp, aerr := replay(prior, hash, time.Now())
		return resp, "", aerr
	}
	resp, renderID, aerr := h.startRender(ctx, req, sr)
	// Settled even when the request's own deadline has passed.
	h.settleKey(context.WithoutCancel(ctx), caller, key, aerr, resp.Body)
	return resp, renderID, aerr
}

func (h *Handler) startRender(ctx context.Context, req *events.APIGatewayV2HTTPRequest, sr *wire.StartRequest) (events.APIGatewayV2HTTPResponse, string, *apiError) {
	opts, aerr := h.resolve(sr)
	if aerr != nil {
		return events.APIGatewayV2HTTPResponse{}, "", aerr
	}
	if opts.Webhook, aerr = h.webhookFor(ctx, req); aerr != nil {
		return events.APIGatewayV2HTTPResponse{}, "", aerr
	}
	res, err := h.client.StartRender(ctx, opts)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", upstreamError(err)
	}
	body := wire.StartResponse{
		RenderID:    res.RenderID,
		BucketName:  res.BucketName,
		State:       wire.StateRendering,
		ProgressURL: progressURL(res.RenderID, res.BucketName),
	}
	if o := opts.OutName; o != nil {
		body.Output = newOutput(o.BucketName, o.Key, "")
	}
	h.recordStart(context.WithoutCancel(ctx), req, body, opts.ServeURL, opts.Composition)
	resp := jsonResponse(http.StatusAccepted, body)
	resp.Headers["Location"] = body.ProgressURL
	return resp, res.RenderID, nil
}

func (h *Handler) progress(ctx context.Context, req *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, string, *apiError) {
	renderID, bucket, aerr := decodeProgress(req)
	if aerr != nil {
		return events.APIGatewayV2HTTPResponse{}, "", aerr
	}
	// A render with a record needs no bucket; one that is over is answered
	// from its record, without a paid call of the render function.
	recorded := false
	if h.cfg.Records != nil {
		rec, err := h.cfg.Records.Get(ctx, renderID)
		switch {
		case err == nil && rec.State.Final():
			return jsonResponse(http.StatusOK, progressOf(rec)), renderID, nil
		case err == nil:
			bucket, recorded = rec.BucketName, true
		case !errors.Is(err, records.ErrNotFound) && bucket == "":
			return events.APIGatewayV2HTTPResponse{}, renderID, recordsUnavailable(err)
		}
	}
	if bucket == "" {
		return events.APIGatewayV2HTTPResponse{}, renderID, &apiError{Status: http.StatusBadRequest, Code: wire.CodeMissingField, Field: "bucket",
			Message: "this render has no record here: give the bucket query parameter, as in the progressUrl that POST /renders returned"}
	}
	p, err := h.client.RenderProgress(ctx, bucket, renderID)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, renderID, upstreamError(err)
	}
	if recorded {
		h.finishRecord(context.WithoutCancel(ctx), renderID, p)
	}
	return jsonResponse(http.StatusOK, newProgress(renderID, bucket, p)), renderID, nil
}

func progressURL(renderID, bucket string) string {
	return "/renders/" + url.PathEscape(renderID) + "?bucket=" + url.QueryEscape(bucket)
}

// upstreamError maps a failure of the render function to a status and code.
func upstreamError(err error) *apiError {
	var verr *render.ValidationError
	if errors.As(err, &verr) {
		return validationError(verr)
	}
	var rerr *remotion.Error
	if !errors.As(err, &rerr) {
		return &apiError{Status: http.StatusBadGateway, Code: wire.CodeUpstreamError, Message: "calling the render function failed", cause: err}
	}
	a := &apiError{Status: http.StatusBadGateway, Message: rerr.Message, cause: err}
	switch rerr.Kind {
	case remotion.KindVersionMismatch:
		a.Code = wire.CodeVersionMismatch
	case remotion.KindFunctionNotFound:
		a.Code = wire.CodeRenderFunctionNotFound
	case remotion.KindAccessDenied:
		a.Code = wire.CodeAccessDenied
	case remotion.KindThrottled:
		a.Status, a.Code = http.StatusTooManyRequests, wire.CodeThrottled
	case remotion.KindTimeout:
		a.Status, a.Code = http.StatusGatewayTimeout, wire.CodeUpstreamTimeout
	case remotion.KindOutcomeUnknown:
		a.Code = wire.CodeStartOutcomeUnknown
		if errors.Is(err, context.DeadlineExceeded) {
			a.Status = http.StatusGatewayTimeout
		}
	case remotion.KindRenderRejected:
		a.Code = wire.CodeRenderRejected
	case remotion.KindFunctionCrashed:
		a.Code = wire.CodeRenderFunctionError
	default:
		a.Code = wire.CodeUpstreamError
	}
	return a
}

func (h *Handler) logRequest(ctx context.Context, req *events.APIGatewayV2HTTPRequest, status int, renderID string, aerr *apiError, d time.Duration) {
	attrs := []slog.Attr{
		slog.String("route", req.RouteKey),
		slog.Int("status", status),
		slog.Float64("durationMs", float64(d.Microseconds())/1000),
		slog.String("requestId", req.RequestContext.RequestID),
	}
	if renderID != "" {
		attrs = append(attrs, slog.String("renderId", renderID))
	}
	level := slog.LevelInfo
	if aerr != nil {
		attrs = append(attrs, slog.String("errorCode", string(aerr.Code)))
		if aerr.cause != nil {
			attrs = append(attrs, slog.String("error", aerr.cause.Error()))
		}
		if aerr.Status >= 500 {
			level = slog.LevelError
		}
	}
	h.log.LogAttrs(ctx, level, "request", attrs...)
}

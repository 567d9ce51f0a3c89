// Package api is the trigger function's HTTP API: it decodes API Gateway
// HTTP API events (payload format 2.0), hands them to the lifecycle, and
// encodes its answers and errors as JSON responses with the right status.
// It holds no rule of a render's lifecycle of its own.
package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"remotion-lambda-iam/contract/renderapi"
	"remotion-lambda-iam/lambda/env"
	"remotion-lambda-iam/lambda/lifecycle"
	"remotion-lambda-iam/lambda/logs"
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
}

// Handler answers the API's requests. Make one per process.
type Handler struct {
	renders   *lifecycle.Service
	cfg       Config
	serveURLs urlPolicy
	log       *slog.Logger
	routes    map[string]route
	served    []renderapi.Route // the routes of this deployment, for the 404
}

// route answers one route; renderID, when known, goes into the log line.
type route func(ctx context.Context, req *events.APIGatewayV2HTTPRequest) (resp events.APIGatewayV2HTTPResponse, renderID string, aerr *apiError)

// New makes a Handler that starts and follows renders through renders.
func New(renders *lifecycle.Service, cfg Config, log *slog.Logger) (*Handler, error) {
	if cfg.ServeURLAllowList == nil {
		cfg.ServeURLAllowList = []string{env.DefaultServeURLPattern}
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = env.DefaultMaxRequestBodyBytes
	}
	policy, err := newURLPolicy(cfg.ServeURLAllowList)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	h := &Handler{renders: renders, cfg: cfg, serveURLs: policy, log: log}
	h.routes = map[string]route{
		renderapi.RouteStart.Key():       h.start,
		renderapi.RouteProgress.Key():    h.progress,
		renderapi.RouteList.Key():        h.listOwn,
		renderapi.RouteListAll.Key():     h.listAll,
		renderapi.RouteProgressAny.Key(): h.progressAny,
		renderapi.RouteCancel.Key():      h.cancel,
		renderapi.RouteQueue.Key():       h.queue,
		renderapi.RouteCosts.Key():       h.costs,
		renderapi.RouteCostsAll.Key():    h.costsAll,
		renderapi.RouteWebhook.Key():     h.webhook,
	}
	for _, r := range renderapi.Routes {
		if (!r.Records || renders.Tracking()) && (!r.Queue || renders.Queueing()) {
			h.served = append(h.served, r)
		}
	}
	return h, nil
}

// Handle answers one request. It never returns an error: every failure is a
// JSON response, so that API Gateway passes the reason on to the caller.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (resp events.APIGatewayV2HTTPResponse, _ error) {
	begin := time.Now()
	var renderID string
	var aerr *apiError
	defer func() {
		if p := recover(); p != nil {
			aerr = &apiError{Status: http.StatusInternalServerError, Code: renderapi.CodeInternalError,
				Message: "the function failed unexpectedly; the request ID is in its logs", cause: fmt.Errorf("panic: %v\n%s", p, debug.Stack())}
			resp = errorResponse(aerr)
			logs.CountPanic(ctx, h.log)
		}
		h.logRequest(ctx, &req, resp.StatusCode, renderID, aerr, time.Since(begin))
	}()

	answer, ok := h.routes[req.RouteKey]
	if !ok || !h.serves(req.RouteKey) {
		aerr = &apiError{Status: http.StatusNotFound, Code: renderapi.CodeNotFound,
			Message: fmt.Sprintf("no route %q here: this deployment serves %s", req.RouteKey, renderapi.Names(h.served))}
		return errorResponse(aerr), nil
	}
	resp, renderID, aerr = answer(ctx, &req)
	if aerr != nil {
		resp = errorResponse(aerr)
	}
	return resp, nil
}

func (h *Handler) serves(key string) bool {
	for _, r := range h.served {
		if r.Key() == key {
			return true
		}
	}
	return false
}

// Misconfigured is the handler of a function that could not start: it
// answers every request with a 500 that says why.
func Misconfigured(err error) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	resp := errorResponse(&apiError{Status: http.StatusInternalServerError, Code: renderapi.CodeConfigurationError,
		Message: "the function is misconfigured: " + err.Error()})
	return func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return resp, nil
	}
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

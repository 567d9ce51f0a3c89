package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"remotion-lambda-iam/lambda/api/wire"
	"remotion-lambda-iam/lambda/eventbus"
	"remotion-lambda-iam/lambda/records"
	"remotion-lambda-iam/lambda/remotion"
	"remotion-lambda-iam/lambda/remotion/render"
)

// maxWebhookBytes bounds a webhook's body; Remotion's are a few KB.
const maxWebhookBytes = 256 << 10

// webhookFor is the webhook a start asks Remotion for: this API's own
// receiver, found from the request's domain and stage, so that the stack
// needs no variable that would tie the function to its API.
func (h *Handler) webhookFor(ctx context.Context, req *events.APIGatewayV2HTTPRequest) (*render.Webhook, *apiError) {
	if h.cfg.WebhookSecret == nil || req.RequestContext.DomainName == "" {
		return nil, nil
	}
	secret, err := h.cfg.WebhookSecret.Value(ctx)
	if err != nil {
		return nil, &apiError{Status: http.StatusServiceUnavailable, Code: wire.CodeSecretUnavailable,
			Message: "the webhook secret could not be read, and nothing was started: retry shortly", cause: err}
	}
	base := "https://" + req.RequestContext.DomainName
	if stage := req.RequestContext.Stage; stage != "" && stage != "$default" {
		base += "/" + stage
	}
	// Only what the receiver needs, and nothing a render's logs should not show.
	custom, _ := json.Marshal(map[string]string{"requestId": req.RequestContext.RequestID})
	return &render.Webhook{URL: base + wire.WebhookPath, Secret: secret, CustomData: custom}, nil
}

// webhook receives Remotion's completion webhook: it verifies the signature
// over the raw body before anything else, moves the render's record to its
// final state once, and puts one event on the bus for the first delivery of
// the outcome. Remotion sends a webhook up to three times; repeats change
// nothing.
func (h *Handler) webhook(ctx context.Context, req *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, string, *apiError) {
	if h.cfg.Records == nil || h.cfg.WebhookSecret == nil || h.cfg.Events == nil {
		return events.APIGatewayV2HTTPResponse{}, "", &apiError{Status: http.StatusNotFound, Code: wire.CodeNotFound,
			Message: "this deployment receives no webhooks (renderTracking=false)"}
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return events.APIGatewayV2HTTPResponse{}, "", &apiError{Status: http.StatusBadRequest, Code: wire.CodeMalformedBody, Message: "the body is marked base64 but is not valid base64"}
		}
	}
	if len(body) > maxWebhookBytes {
		return events.APIGatewayV2HTTPResponse{}, "", &apiError{Status: http.StatusRequestEntityTooLarge, Code: wire.CodeBodyTooLarge,
			Message: fmt.Sprintf("a webhook is at most %d bytes", maxWebhookBytes)}
	}
	secret, err := h.cfg.WebhookSecret.Value(ctx)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", &apiError{Status: http.StatusServiceUnavailable, Code: wire.CodeSecretUnavailable,
			Message: "the webhook secret could not be read: send it again later", cause: err}
	}
	if err := remotion.VerifyWebhook(body, header(req.Headers, remotion.HeaderSignature), secret); err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", &apiError{Status: http.StatusUnauthorized, Code: wire.CodeBadSignature,
			Message: "the webhook's X-Remotion-Signature is not valid for this deployment", cause: err}
	}
	var w remotion.Webhook
	if err := json.Unmarshal(body, &w); err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", &apiError{Status: http.StatusBadRequest, Code: wire.CodeMalformedJSON, Message: "the webhook's body is not JSON"}
	}
	if header(req.Headers, remotion.HeaderMode) == "demo" {
		return jsonResponse(http.StatusOK, wire.WebhookReceipt{Received: true, Demo: true}), w.RenderID, nil
	}
	outcome, detailType, aerr := outcomeOf(&w)
	if aerr != nil {
		return events.APIGatewayV2HTTPResponse{}, w.RenderID, aerr
	}
	rec, err := h.cfg.Records.Get(ctx, w.RenderID)
	if errors.Is(err, records.ErrNotFound) {
		return events.APIGatewayV2HTTPResponse{}, w.RenderID, &apiError{Status: http.StatusNotFound, Code: wire.CodeNotFound,
			Message: "no render of this deployment has that renderId"}
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, w.RenderID, recordsUnavailable(err)
	}
	if _, err := h.cfg.Records.Finish(ctx, w.RenderID, outcome); err != nil {
		return events.APIGatewayV2HTTPResponse{}, w.RenderID, recordsUnavailable(err)
	}
	claimed, err := h.cfg.Records.ClaimEvent(ctx, w.RenderID)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, w.RenderID, recordsUnavailable(err)
	}
	if !claimed {
		return jsonResponse(http.StatusOK, wire.WebhookReceipt{Received: true, Duplicate: true}), w.RenderID, nil
	}
	published := h.cfg.Events.Put(ctx, detailType, renderEvent(rec, &w, outcome))
	if err := h.cfg.Records.EventPublished(context.WithoutCancel(ctx), w.RenderID, published == nil); err != nil {
		h.log.LogAttrs(ctx, slog.LevelError, "event state not recorded", slog.String("renderId", w.RenderID), slog.String("error", err.Error()))
	}
	if published != nil {
		return events.APIGatewayV2HTTPResponse{}, w.RenderID, &apiError{Status: http.StatusBadGateway, Code: wire.CodeEventsUnavailable,
			Message: "the render's event could not be published: send the webhook again", cause: published}
	}
	return jsonResponse(http.StatusOK, wire.WebhookReceipt{Received: true}), w.RenderID, nil
}

// outcomeOf reads how the render ended from its webhook.
func outcomeOf(w *remotion.Webhook) (records.Outcome, string, *apiError) {
	o := records.Outcome{FinishedAt: time.Now()}
	switch w.Type {
	case "success":
		o.State = wire.StateDone
		if w.OutputFile != "" {
			o.OutputFile = &w.OutputFile
		}
		if w.Costs != nil {
			o.Costs = &wire.Costs{AccruedSoFar: w.Costs.EstimatedCost, DisplayCost: w.Costs.EstimatedDisplayCost, Currency: w.Costs.Currency}
		}
		return o, eventbus.RenderSucceeded, nil
	case "error":
		o.State = wire.StateFailed
		for _, e := range w.Errors {
			o.Errors = append(o.Errors, e.Message)
		}
		return o, eventbus.RenderFailed, nil
	case "timeout":
		o.State = wire.StateFailed
		o.Errors = []string{"the render timed out"}
		return o, eventbus.RenderTimedOut, nil
	}
	return o, "", &apiError{Status: http.StatusBadRequest, Code: wire.CodeInvalidValue, Field: "type",
		Message: fmt.Sprintf("webhook type %q is none of success, error or timeout", w.Type)}
}

func renderEvent(rec *wire.Render, w *remotion.Webhook, o records.Outcome) wire.RenderEvent {
	e := wire.RenderEvent{
		RenderID:    rec.RenderID,
		BucketName:  rec.BucketName,
		Composition: rec.Composition,
		RequestedBy: rec.RequestedBy,
		CreatedAt:   rec.CreatedAt,
		FinishedAt:  o.FinishedAt,
		Errors:      o.Errors,
	}
	if w.Type == "success" {
		e.OutputURL, e.OutputFile, e.TimeToFinishMs = w.OutputURL, w.OutputFile, w.TimeToFinish
		if w.Costs != nil {
			e.Costs = &wire.EventCosts{EstimatedCost: w.Costs.EstimatedCost, DisplayCost: w.Costs.EstimatedDisplayCost, Currency: w.Costs.Currency}
		}
	}
	return e
}

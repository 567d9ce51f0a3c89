package api

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"remotion-lambda-iam/contract/renderapi"
	"remotion-lambda-iam/lambda/lifecycle"
	"remotion-lambda-iam/lambda/remotion"
)

// maxWebhookBytes is the most a webhook can be: what Lambda passes to a
// function it invokes synchronously. A success webhook carries Remotion's
// lambdaErrors with their stack traces, so it can be large, and whatever
// API Gateway and Lambda let through is taken.
const maxWebhookBytes = 6 << 20

// webhookURL is the webhook a start asks Remotion for: this API's own
// receiver, found from the request's domain and stage, so that the stack
// needs no variable that would tie the function to its API. Empty when the
// request did not come through API Gateway.
func webhookURL(req *events.APIGatewayV2HTTPRequest) string {
	if req.RequestContext.DomainName == "" {
		return ""
	}
	base := "https://" + req.RequestContext.DomainName
	if stage := req.RequestContext.Stage; stage != "" && stage != "$default" {
		base += "/" + stage
	}
	return base + renderapi.RouteWebhook.Path
}

// webhook receives Remotion's completion webhook: it verifies the signature
// over the raw body before anything else, then hands the outcome to the
// lifecycle. Remotion sends a webhook up to three times; repeats change
// nothing.
func (h *Handler) webhook(ctx context.Context, req *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, string, *apiError) {
	if !h.renders.Webhooks() {
		return events.APIGatewayV2HTTPResponse{}, "", &apiError{Status: http.StatusNotFound, Code: renderapi.CodeNotFound,
			Message: "this deployment receives no webhooks: it keeps no render records (renderTracking=false), or has no webhook secret"}
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return events.APIGatewayV2HTTPResponse{}, "", &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeMalformedBody, Message: "the body is marked base64 but is not valid base64"}
		}
	}
	if len(body) > maxWebhookBytes {
		return events.APIGatewayV2HTTPResponse{}, "", &apiError{Status: http.StatusRequestEntityTooLarge, Code: renderapi.CodeBodyTooLarge,
			Message: fmt.Sprintf("a webhook is at most %d bytes", maxWebhookBytes)}
	}
	err := h.renders.VerifyWebhook(ctx, body, header(req.Headers, remotion.HeaderSignature))
	switch {
	case errors.Is(err, lifecycle.ErrBadSignature):
		return events.APIGatewayV2HTTPResponse{}, "", &apiError{Status: http.StatusUnauthorized, Code: renderapi.CodeBadSignature,
			Message: "the webhook's X-Remotion-Signature is not valid for this deployment", cause: err}
	case errors.Is(err, lifecycle.ErrSecretUnavailable):
		return events.APIGatewayV2HTTPResponse{}, "", &apiError{Status: http.StatusServiceUnavailable, Code: renderapi.CodeSecretUnavailable,
			Message: "the webhook secret could not be read: send it again later", cause: err}
	case err != nil:
		return events.APIGatewayV2HTTPResponse{}, "", failure(err)
	}
	if header(req.Headers, remotion.HeaderMode) == "demo" {
		return jsonResponse(http.StatusOK, renderapi.WebhookReceipt{Received: true, Demo: true}), "", nil
	}
	d, err := h.renders.Webhook(ctx, body)
	renderID := ""
	if d != nil {
		renderID = d.RenderID
	}
	switch {
	case errors.Is(err, lifecycle.ErrWebhookType):
		return events.APIGatewayV2HTTPResponse{}, renderID, &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeInvalidValue, Field: "type", Message: err.Error()}
	case errors.Is(err, lifecycle.ErrBadWebhook):
		return events.APIGatewayV2HTTPResponse{}, renderID, &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeMalformedJSON, Message: err.Error()}
	case errors.Is(err, lifecycle.ErrNotFound):
		return events.APIGatewayV2HTTPResponse{}, renderID, &apiError{Status: http.StatusNotFound, Code: renderapi.CodeRenderNotFound,
			Message: "no render of this deployment has that renderId"}
	case err != nil:
		return events.APIGatewayV2HTTPResponse{}, renderID, failure(err)
	}
	return jsonResponse(http.StatusOK, renderapi.WebhookReceipt{Received: true, Duplicate: d.Duplicate}), renderID, nil
}

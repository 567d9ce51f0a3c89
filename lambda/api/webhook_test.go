package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"remotion-lambda-iam/contract/renderapi"
	"remotion-lambda-iam/contract/renderevent"
	"remotion-lambda-iam/internal/dynalite"
	"remotion-lambda-iam/internal/standin"
	"remotion-lambda-iam/internal/vectors"
	"remotion-lambda-iam/lambda/api"
	"remotion-lambda-iam/lambda/eventbus"
	"remotion-lambda-iam/lambda/lifecycle"
	"remotion-lambda-iam/lambda/records"
	"remotion-lambda-iam/lambda/secret"
)

const secretARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook-AbCdEf"

// withWebhooks is a handler with records, the webhook secret and the event
// bus, all of them real clients of the stand-in and dynalite.
func withWebhooks(t testing.TB, respond func(standin.Invocation) standin.Reply) (*fixture, *records.Store) {
	t.Helper()
	db := dynalite.Shared(t)
	store := records.New(db.Client(), db.NewRenderTable(t), 90*24*time.Hour)
	keep := func(srv *standin.Server) lifecycle.Config { return webhooked(t, srv, store) }
	return build(t, api.Config{DefaultServeURL: serveURL}, keep, respond), store
}

// webhooked is what the default deployment keeps and tells, on srv: the
// records in store, the webhook secret and the event bus.
func webhooked(t testing.TB, srv *standin.Server, store *records.Store) lifecycle.Config {
	srv.SetSecret(secretARN, vectors.ReadWebhooks(t).Secret)
	return lifecycle.Config{
		Records:       store,
		WebhookSecret: secret.New(secretsmanager.NewFromConfig(srv.AWSConfig()), secretARN),
		Events:        eventbus.New(eventbridge.NewFromConfig(srv.AWSConfig()), ""),
	}
}

// fromAPIGateway is a request as API Gateway sends it, with its domain.
func fromAPIGateway(req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
	req.RequestContext.DomainName = "abc123.execute-api.us-east-1.amazonaws.com"
	req.RequestContext.Stage = "$default"
	return req
}

func webhookRequest(body string, headers map[string]string) events.APIGatewayV2HTTPRequest {
	h := map[string]string{}
	for k, v := range headers {
		h[strings.ToLower(k)] = v
	}
	return events.APIGatewayV2HTTPRequest{RouteKey: renderapi.RouteWebhook.Key(), RawPath: renderapi.RouteWebhook.Path, Headers: h, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "req-webhook"}}
}

// delivery is one of Remotion's recorded webhooks about the render
// renderID, as it arrives: its custom data is what the render's start gave
// Remotion, and it is signed as Remotion signs.
func delivery(t testing.TB, name, renderID string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	v := vectors.ReadWebhooks(t)
	var body map[string]any
	if err := json.Unmarshal([]byte(v.Vectors[name].Body), &body); err != nil {
		t.Fatal(err)
	}
	body["customData"] = map[string]string{"renderId": renderID}
	b, _ := json.Marshal(body)
	headers := maps.Clone(v.Vectors[name].Headers)
	headers["X-Remotion-Signature"] = sign(string(b), v.Secret)
	return webhookRequest(string(b), headers)
}

// startRecorded starts a render as alice, and returns its ID.
func startRecorded(t *testing.T, f *fixture) string {
	t.Helper()
	status, body := f.do(t, fromAPIGateway(as(alice, post(`{"composition":"MyComp"}`))))
	if status != http.StatusAccepted {
		t.Fatalf("start: %d %v", status, body)
	}
	return idOf(t, body)
}

func TestEveryStartAsksForTheWebhook(t *testing.T) {
	f, _ := withWebhooks(t, standin.Always(started))

	id := startRecorded(t, f)
	startRecorded(t, f)

	var payload struct{ Webhook map[string]any }
	json.Unmarshal(f.srv.Invocations()[0].Payload, &payload)
	assertJSON(t, payload.Webhook, map[string]any{
		"url":        "https://abc123.execute-api.us-east-1.amazonaws.com/webhooks/remotion",
		"secret":     vectors.ReadWebhooks(t).Secret,
		"customData": map[string]any{"renderId": id},
	})
	if n := f.srv.SecretReads(); n != 1 {
		t.Errorf("the secret was read %d times for two starts, want once per execution environment", n)
	}
	if strings.Contains(f.logs.String(), vectors.ReadWebhooks(t).Secret) {
		t.Error("the secret is in the logs")
	}
}

func TestAStageNamesTheWebhooksPath(t *testing.T) {
	f, _ := withWebhooks(t, standin.Always(started))
	req := fromAPIGateway(post(`{"composition":"MyComp"}`))
	req.RequestContext.Stage = "prod"

	f.do(t, req)

	if !strings.Contains(string(f.srv.Invocations()[0].Payload), `"url":"https://abc123.execute-api.us-east-1.amazonaws.com/prod/webhooks/remotion"`) {
		t.Errorf("payload %s", f.srv.Invocations()[0].Payload)
	}
}

func TestASucceededRenderIsRecordedAndPublishedOnce(t *testing.T) {
	f, store := withWebhooks(t, standin.Always(started))
	id := startRecorded(t, f)

	status, body := f.do(t, delivery(t, "success", id))
	again, repeat := f.do(t, delivery(t, "success", id))

	if status != http.StatusOK || body["received"] != true || again != http.StatusOK || repeat["duplicate"] != true {
		t.Fatalf("deliveries: %d %v, then %d %v", status, body, again, repeat)
	}
	rec, _ := store.Get(context.Background(), id)
	if rec.State != records.Done || !strings.HasSuffix(rec.OutputFile, "/out.mp4") || rec.Costs == nil || rec.Costs.DisplayCost != "$0.01" {
		t.Errorf("record %+v", rec)
	}
	evs := f.srv.Events()
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	if evs[0].Source != "remotion.render" || evs[0].DetailType != "Render Succeeded" || evs[0].EventBusName != "default" {
		t.Errorf("event %+v", evs[0])
	}
	var detail map[string]any
	json.Unmarshal([]byte(evs[0].Detail), &detail)
	for key, want := range map[string]any{"renderId": id, "remotionRenderId": renderID, "bucketName": bucket, "composition": "MyComp", "requestedBy": alice,
		"state": "done", "timeToFinishMs": 23456.0, "outputFile": rec.OutputFile} {
		if detail[key] != want {
			t.Errorf("detail %s = %v, want %v", key, detail[key], want)
		}
	}
	if detail["costs"].(map[string]any)["estimatedCost"] != 0.0123 || detail["createdAt"] == nil || detail["finishedAt"] == nil {
		t.Errorf("detail %v", detail)
	}
}

// Once the webhook has made the record final, a poll costs no invocation.
func TestAfterTheWebhookAPollInvokesNothing(t *testing.T) {
	f, _ := withWebhooks(t, standin.Always(started))
	id := startRecorded(t, f)
	f.do(t, delivery(t, "success", id))
	calls := len(f.srv.Invocations())

	status, body := f.do(t, as(alice, get(id, nil)))

	if status != http.StatusOK || body["state"] != "done" || len(f.srv.Invocations()) != calls {
		t.Errorf("poll: %d %v, %d invocations (want %d)", status, body, len(f.srv.Invocations()), calls)
	}
}

func TestFailuresAndTimeoutsArePublishedAsSuch(t *testing.T) {
	for _, tt := range []struct{ vector, detailType, says string }{
		{"error", "Render Failed", `Composition "Nope" not found`},
		{"timeout", "Render Timed Out", "timed out"},
	} {
		t.Run(tt.vector, func(t *testing.T) {
			f, store := withWebhooks(t, standin.Always(started))
			id := startRecorded(t, f)

			f.do(t, delivery(t, tt.vector, id))

			rec, _ := store.Get(context.Background(), id)
			if rec.State != records.Failed || len(rec.Errors) != 1 || !strings.Contains(rec.Errors[0], tt.says) {
				t.Errorf("record %+v", rec)
			}
			evs := f.srv.Events()
			if len(evs) != 1 || evs[0].DetailType != tt.detailType {
				t.Fatalf("events %+v", evs)
			}
			var detail renderevent.Detail
			json.Unmarshal([]byte(evs[0].Detail), &detail)
			if len(detail.Errors) != 1 || !strings.Contains(detail.Errors[0], tt.says) || detail.OutputFile != "" {
				t.Errorf("detail %+v", detail)
			}
		})
	}
}

func sign(body, key string) string {
	mac := hmac.New(sha512.New, []byte(key))
	mac.Write([]byte(body))
	return "sha512=" + hex.EncodeToString(mac.Sum(nil))
}

// A webhook that does not prove it came from Remotion changes nothing.
func TestForgedWebhooksAreRefusedAndChangeNothing(t *testing.T) {
	tests := []struct {
		name, body, signature string
		logs                  string
	}{
		{"missing signature", "$BODY", "", "no X-Remotion-Signature"},
		{"unsigned", "$BODY", "NO_SECRET_PROVIDED", "no secret"},
		{"another secret", "$BODY", "$SIGN_WITH_GUESS", "does not match"},
		{"the body changed", "$BODY ", "$SIGNATURE", "does not match"},
		{"malformed", "$BODY", "sha512=xyz", "not sha512="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, store := withWebhooks(t, standin.Always(started))
			id := startRecorded(t, f)
			v := delivery(t, "success", id)
			body := strings.ReplaceAll(tt.body, "$BODY", v.Body)
			signature := strings.ReplaceAll(tt.signature, "$SIGNATURE", v.Headers["x-remotion-signature"])
			if signature == "$SIGN_WITH_GUESS" {
				signature = sign(body, "guess")
			}

			status, answer := f.do(t, webhookRequest(body, map[string]string{"X-Remotion-Signature": signature, "X-Remotion-Mode": "production"}))

			if code, _, _ := errorOf(answer); status != http.StatusUnauthorized || code != "bad_signature" {
				t.Errorf("got %d %v", status, answer)
			}
			if rec, _ := store.Get(context.Background(), id); rec.State != records.Rendering {
				t.Errorf("the record moved to %s", rec.State)
			}
			if n := len(f.srv.Events()); n != 0 {
				t.Errorf("%d events published", n)
			}
			if !strings.Contains(f.logs.String(), tt.logs) {
				t.Errorf("the log does not say why (%q):\n%s", tt.logs, f.logs)
			}
		})
	}
}

func TestWebhooksThatCannotBeTakenAreRefused(t *testing.T) {
	secretValue := vectors.ReadWebhooks(t).Secret
	unknown := delivery(t, "success", "zzzzzz9999").Body
	oversized := `{"type":"success","pad":"` + strings.Repeat("x", 6<<20) + `"}`
	tests := []struct {
		name, body string
		status     int
		code       string
	}{
		{"an unknown render", unknown, http.StatusNotFound, "render_not_found"},
		{"not JSON", "not json", http.StatusBadRequest, "malformed_json"},
		{"an unknown type", `{"type":"maybe","renderId":"abcdef1234"}`, http.StatusBadRequest, "invalid_value"},
		{"over what Lambda passes on", oversized, http.StatusRequestEntityTooLarge, "body_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := withWebhooks(t, standin.Always(started))
			startRecorded(t, f)

			status, body := f.do(t, webhookRequest(tt.body, map[string]string{"X-Remotion-Signature": sign(tt.body, secretValue)}))

			if code, _, _ := errorOf(body); status != tt.status || code != tt.code {
				t.Errorf("got %d %v, want %d %s", status, body, tt.status, tt.code)
			}
			if n := len(f.srv.Events()); n != 0 {
				t.Errorf("%d events published", n)
			}
		})
	}
}

func TestADemoWebhookIsVerifiedButNotKept(t *testing.T) {
	f, store := withWebhooks(t, standin.Always(started))
	id := startRecorded(t, f)
	req := delivery(t, "success", id)
	req.Headers["x-remotion-mode"] = "demo"

	status, body := f.do(t, req)

	if status != http.StatusOK || body["demo"] != true {
		t.Errorf("got %d %v", status, body)
	}
	if rec, _ := store.Get(context.Background(), id); rec.State != records.Rendering || len(f.srv.Events()) != 0 {
		t.Errorf("a demo webhook changed the record (%s) or published (%d)", rec.State, len(f.srv.Events()))
	}
}

// A failed publication is answered 5xx, so that Remotion sends the webhook
// again; the next delivery publishes the one event.
func TestAFailedPublicationIsRetriedByTheNextDelivery(t *testing.T) {
	f, _ := withWebhooks(t, standin.Always(started))
	id := startRecorded(t, f)
	f.srv.FailEvents(true)

	first, body := f.do(t, delivery(t, "success", id))
	f.srv.FailEvents(false)
	second, _ := f.do(t, delivery(t, "success", id))
	third, _ := f.do(t, delivery(t, "success", id))

	if code, _, _ := errorOf(body); first != http.StatusBadGateway || code != "events_unavailable" || second != http.StatusOK || third != http.StatusOK {
		t.Errorf("deliveries: %d %v, %d, %d", first, body, second, third)
	}
	if n := len(f.srv.Events()); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
}

func assertJSON(t *testing.T, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("got %s\nwant %s", g, w)
	}
}

// A success webhook larger than an event (Remotion's lambdaErrors carry
// stack traces) is verified and handled, and its event is within
// EventBridge's limit.
func TestALargeWebhookIsHandled(t *testing.T) {
	f, _ := withWebhooks(t, standin.Always(started))
	id := startRecorded(t, f)
	req := delivery(t, "success", id)
	var body map[string]any
	json.Unmarshal([]byte(req.Body), &body)
	trace := "Error: chunk failed\n" + strings.Repeat("    at render (/var/task/index.js:1:1)\n", 8000)
	body["lambdaErrors"] = []map[string]any{{"message": trace, "name": "Error", "stack": trace, "chunk": 1, "isFatal": false}}
	b, _ := json.Marshal(body)
	req.Body, req.Headers["x-remotion-signature"] = string(b), sign(string(b), vectors.ReadWebhooks(t).Secret)
	if len(req.Body) < 512<<10 {
		t.Fatalf("the webhook is %d bytes; the test wants one over 512 KiB", len(req.Body))
	}

	status, answer := f.do(t, req)

	if status != http.StatusOK || answer["received"] != true {
		t.Errorf("got %d %v", status, answer)
	}
	if evs := f.srv.Events(); len(evs) != 1 || len(evs[0].Detail) > 256<<10 {
		t.Errorf("events %d (want 1), the first %d bytes", len(evs), len(evs[0].Detail))
	}
}

// A poll that sees a render end finishes its record and publishes its one
// event; the webhook that comes after publishes nothing more.
func TestAPollThatSeesTheEndPublishesTheEvent(t *testing.T) {
	f, store := withWebhooks(t, func(inv standin.Invocation) standin.Reply {
		if strings.Contains(string(inv.Payload), `"type":"start"`) {
			return started
		}
		return standin.Reply{Body: vectors.Read(t, "progress-fatal.json")}
	})
	id := startRecorded(t, f)

	status, body := f.do(t, as(alice, get(id, nil)))
	late, receipt := f.do(t, delivery(t, "error", id))

	if status != http.StatusOK || body["state"] != "failed" || late != http.StatusOK || receipt["duplicate"] != true {
		t.Errorf("poll %d %v, then the webhook %d %v", status, body, late, receipt)
	}
	if evs := f.srv.Events(); len(evs) != 1 || evs[0].DetailType != renderevent.Failed {
		t.Errorf("events %+v, want one Render Failed", evs)
	}
	if rec, _ := store.Get(context.Background(), id); rec.State != records.Failed || rec.Costs == nil || rec.Costs.EstimatedCost == "" {
		t.Errorf("record %+v, want failed with Remotion's cost", rec)
	}
}

// The time a verified webhook takes to be answered (verify, record,
// publish), against Remotion's 10 s timeout.
func BenchmarkWebhook(b *testing.B) {
	f, _ := withWebhooks(b, standin.NewRenders(bucket))
	for b.Loop() {
		b.StopTimer()
		resp, _ := f.h.Handle(context.Background(), fromAPIGateway(as(alice, post(`{"composition":"MyComp"}`))))
		var started renderapi.StartResponse
		json.Unmarshal([]byte(resp.Body), &started)
		req := delivery(b, "success", started.RenderID)
		b.StartTimer()
		resp, _ = f.h.Handle(context.Background(), req)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
		}
	}
}

package api_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"remotion-lambda-iam/contract/renderapi"
	"remotion-lambda-iam/internal/dynalite"
	"remotion-lambda-iam/internal/standin"
	"remotion-lambda-iam/internal/vectors"
	"remotion-lambda-iam/lambda/api"
	"remotion-lambda-iam/lambda/awsjson"
	"remotion-lambda-iam/lambda/eventbus"
	"remotion-lambda-iam/lambda/records"
	"remotion-lambda-iam/lambda/remotion"
	"remotion-lambda-iam/lambda/secret"
)

const secretARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook-AbCdEf"

// withWebhooks is a handler with records, the webhook secret and the event
// bus, all of them real clients of the stand-in and dynalite.
func withWebhooks(t testing.TB, respond func(standin.Invocation) standin.Reply) (*fixture, *records.Store) {
	t.Helper()
	srv := standin.Start(respond)
	t.Cleanup(srv.Close)
	srv.SetSecret(secretARN, vectors.ReadWebhooks(t).Secret)
	client, err := remotion.New(srv.AWSConfig(), remotion.Config{FunctionName: functionName, Region: standin.Region})
	if err != nil {
		t.Fatal(err)
	}
	db := dynalite.Shared(t)
	store := records.New(db.Client(t), db.NewRenderTable(t), 90*24*time.Hour)
	logs := &bytes.Buffer{}
	h, err := api.New(client, api.Config{
		DefaultServeURL: serveURL,
		Records:         store,
		WebhookSecret:   secret.New(srv.Client(t, awsjson.SecretsManager), secretARN),
		Events:          eventbus.New(srv.Client(t, awsjson.EventBridge), ""),
	}, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{h: h, srv: srv, logs: logs}, store
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
	return events.APIGatewayV2HTTPRequest{RouteKey: renderapi.RouteWebhook, RawPath: renderapi.WebhookPath, Headers: h, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "req-webhook"}}
}

// delivery is one of Remotion's recorded webhooks, as it arrives.
func delivery(t testing.TB, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	v := vectors.ReadWebhooks(t).Vectors[name]
	return webhookRequest(v.Body, v.Headers)
}

// startRecorded starts the render the vectors are about, as alice.
func startRecorded(t *testing.T, f *fixture) {
	t.Helper()
	if status, body := f.do(t, fromAPIGateway(as(alice, post(`{"composition":"MyComp"}`)))); status != http.StatusAccepted {
		t.Fatalf("start: %d %v", status, body)
	}
}

func TestEveryStartAsksForTheWebhook(t *testing.T) {
	f, _ := withWebhooks(t, standin.Always(started))

	startRecorded(t, f)
	startRecorded(t, f)

	var payload struct{ Webhook map[string]any }
	json.Unmarshal(f.srv.Invocations()[0].Payload, &payload)
	assertJSON(t, payload.Webhook, map[string]any{
		"url":        "https://abc123.execute-api.us-east-1.amazonaws.com/webhooks/remotion",
		"secret":     vectors.ReadWebhooks(t).Secret,
		"customData": map[string]any{"requestId": "req-1"},
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
	startRecorded(t, f)

	status, body := f.do(t, delivery(t, "success"))
	again, repeat := f.do(t, delivery(t, "success"))

	if status != http.StatusOK || body["received"] != true || again != http.StatusOK || repeat["duplicate"] != true {
		t.Fatalf("deliveries: %d %v, then %d %v", status, body, again, repeat)
	}
	rec, _ := store.Get(context.Background(), renderID)
	if rec.State != renderapi.StateDone || rec.OutputFile == nil || !strings.HasSuffix(*rec.OutputFile, "/out.mp4") || rec.Costs == nil || rec.Costs.DisplayCost != "$0.01" {
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
	for key, want := range map[string]any{"renderId": renderID, "bucketName": bucket, "composition": "MyComp", "requestedBy": alice,
		"timeToFinishMs": 23456.0, "outputFile": *rec.OutputFile} {
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
	startRecorded(t, f)
	f.do(t, delivery(t, "success"))
	calls := len(f.srv.Invocations())

	status, body := f.do(t, get(renderID, nil))

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
			startRecorded(t, f)

			f.do(t, delivery(t, tt.vector))

			rec, _ := store.Get(context.Background(), renderID)
			if rec.State != renderapi.StateFailed || len(rec.Errors) != 1 || !strings.Contains(rec.Errors[0], tt.says) {
				t.Errorf("record %+v", rec)
			}
			evs := f.srv.Events()
			if len(evs) != 1 || evs[0].DetailType != tt.detailType {
				t.Fatalf("events %+v", evs)
			}
			var detail renderapi.RenderEvent
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
	v := vectors.ReadWebhooks(t).Vectors["success"]
	tests := []struct {
		name, body, signature string
		logs                  string
	}{
		{"missing signature", v.Body, "", "no X-Remotion-Signature"},
		{"unsigned", v.Body, "NO_SECRET_PROVIDED", "no secret"},
		{"another secret", v.Body, sign(v.Body, "guess"), "does not match"},
		{"the body changed", strings.Replace(v.Body, "out.mp4", "evil.mp4", 1), v.Headers["X-Remotion-Signature"], "does not match"},
		{"malformed", v.Body, "sha512=xyz", "not sha512="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, store := withWebhooks(t, standin.Always(started))
			startRecorded(t, f)

			status, body := f.do(t, webhookRequest(tt.body, map[string]string{"X-Remotion-Signature": tt.signature, "X-Remotion-Mode": "production"}))

			if code, _, _ := errorOf(body); status != http.StatusUnauthorized || code != "bad_signature" {
				t.Errorf("got %d %v", status, body)
			}
			if rec, _ := store.Get(context.Background(), renderID); rec.State != renderapi.StateRendering {
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
	unknown := strings.Replace(vectors.ReadWebhooks(t).Vectors["success"].Body, "abcdef1234", "zzzzzz9999", 1)
	oversized := `{"type":"success","pad":"` + strings.Repeat("x", 300<<10) + `"}`
	tests := []struct {
		name, body string
		status     int
		code       string
	}{
		{"an unknown render", unknown, http.StatusNotFound, "not_found"},
		{"not JSON", "not json", http.StatusBadRequest, "malformed_json"},
		{"an unknown type", `{"type":"maybe","renderId":"abcdef1234"}`, http.StatusBadRequest, "invalid_value"},
		{"over 256 KiB", oversized, http.StatusRequestEntityTooLarge, "body_too_large"},
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
	startRecorded(t, f)
	req := delivery(t, "success")
	req.Headers["x-remotion-mode"] = "demo"

	status, body := f.do(t, req)

	if status != http.StatusOK || body["demo"] != true {
		t.Errorf("got %d %v", status, body)
	}
	if rec, _ := store.Get(context.Background(), renderID); rec.State != renderapi.StateRendering || len(f.srv.Events()) != 0 {
		t.Errorf("a demo webhook changed the record (%s) or published (%d)", rec.State, len(f.srv.Events()))
	}
}

// A failed publication is answered 5xx, so that Remotion sends the webhook
// again; the next delivery publishes the one event.
func TestAFailedPublicationIsRetriedByTheNextDelivery(t *testing.T) {
	f, _ := withWebhooks(t, standin.Always(started))
	startRecorded(t, f)
	f.srv.FailEvents(true)

	first, body := f.do(t, delivery(t, "success"))
	f.srv.FailEvents(false)
	second, _ := f.do(t, delivery(t, "success"))
	third, _ := f.do(t, delivery(t, "success"))

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

// The time a verified webhook takes to be answered (verify, record,
// publish), against Remotion's 10 s timeout.
func BenchmarkWebhook(b *testing.B) {
	f, store := withWebhooks(b, standin.NewRenders(bucket))
	v := vectors.ReadWebhooks(b)
	body := v.Vectors["success"].Body
	n := 0
	for b.Loop() {
		b.StopTimer()
		n++
		id := fmt.Sprintf("bench%09d", n)
		store.Create(context.Background(), renderapi.Render{RenderID: id, BucketName: bucket, RequestedBy: alice, CreatedAt: time.Now(), State: renderapi.StateRendering})
		b2 := strings.Replace(body, renderID, id, 1)
		req := webhookRequest(b2, map[string]string{"X-Remotion-Signature": sign(b2, v.Secret)})
		b.StartTimer()
		resp, _ := f.h.Handle(context.Background(), req)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
		}
	}
}

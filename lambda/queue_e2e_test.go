package main

// End-to-end: renders waiting their turn, through the real bootstrap under
// the emulator, with the render table on dynalite.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"remotion-lambda-iam/internal/dynalite"
	"remotion-lambda-iam/internal/standin"
	"remotion-lambda-iam/internal/vectors"
	"remotion-lambda-iam/lambda/env"
)

// queueing is a deployment whose renders wait their turn for a budget of
// 10 executions, one render a caller in line.
type queueing struct {
	emu   *emulator
	srv   *standin.Server
	db    *dynalite.Server
	table string
}

func newQueueing(t *testing.T, respond func(standin.Invocation) standin.Reply) *queueing {
	t.Helper()
	buildBinaries(t)
	q := &queueing{db: dynalite.Shared(t)}
	q.table = q.db.NewRenderTable(t)
	q.srv = standin.Start(respond)
	t.Cleanup(q.srv.Close)
	q.srv.SetSecret("webhook", vectors.ReadWebhooks(t).Secret)
	vars := append(trackingEnv(q.db, q.table, q.srv, "webhook"),
		env.RenderQueue+"=true", env.RenderConcurrencyBudget+"=10", env.MaxQueuedPerCaller+"=1")
	q.emu = startEmulator(t, q.srv, vars...)
	return q
}

func (q *queueing) start(t *testing.T, caller, concurrency string) (int, map[string]any) {
	t.Helper()
	ev := webhookedStart()
	ev.Body = `{"composition":"MyComp","concurrency":` + concurrency + `}`
	ev.RequestContext.Authorizer = iamCaller(caller)
	resp, body := q.emu.invoke(t, ev)
	return resp.StatusCode, body
}

func (q *queueing) read(t *testing.T, caller, id string) map[string]any {
	t.Helper()
	ev := apiEvent("GET /renders/{renderId}", "", map[string]string{"renderId": id}, nil)
	ev.RequestContext.Authorizer = iamCaller(caller)
	_, body := q.emu.invoke(t, ev)
	return body
}

func (q *queueing) starts() int {
	n := 0
	for _, inv := range q.srv.Invocations() {
		if strings.Contains(string(inv.Payload), `"type":"start"`) {
			n++
		}
	}
	return n
}

// sweep sends the function its schedule's event.
func (q *queueing) sweep(t *testing.T) {
	t.Helper()
	event := `{"version":"0","id":"e2e","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012",` +
		`"time":"2026-12-01T12:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/sweeper"],"detail":{}}`
	resp, err := q.emu.client.Post(q.emu.url, "application/json", bytes.NewReader([]byte(event)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out, _ := io.ReadAll(resp.Body); strings.Contains(string(out), "errorMessage") {
		t.Fatalf("the sweeper failed: %s\n%s", out, q.emu.logs)
	}
}

// age makes a render's hold look taken long ago, as a render whose webhook
// was lost looks to the sweeper.
func (q *queueing) age(t *testing.T, renderID string) {
	t.Helper()
	_, err := q.db.Client().UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                 aws.String(q.table),
		Key:                       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "line"}},
		UpdateExpression:          aws.String("SET holds.#id.since = :then"),
		ExpressionAttributeNames:  map[string]string{"#id": renderID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":then": &types.AttributeValueMemberN{Value: "1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func iamCaller(arn string) *events.APIGatewayV2HTTPRequestContextAuthorizerDescription {
	return &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: arn},
	}
}

const (
	e2eAlice = "arn:aws:iam::123456789012:user/alice"
	e2eBob   = "arn:aws:iam::123456789012:user/bob"
	e2eCarol = "arn:aws:iam::123456789012:user/carol"
)

// A start that does not fit waits its turn and starts when a webhook gives
// back the capacity; a caller past the per-caller bound is refused.
func TestBootstrapQueuesAStartAndDispatchesItOnAWebhook(t *testing.T) {
	q := newQueueing(t, standin.NewRenders(e2eBucket))

	first, a := q.start(t, e2eAlice, "5")
	second, b := q.start(t, e2eBob, "5")
	full, refused := q.start(t, e2eBob, "1")

	if first != http.StatusAccepted || a["state"] != "rendering" || second != http.StatusAccepted || b["state"] != "queued" || b["position"] != 1.0 {
		t.Fatalf("starts: %d %v, then %d %v", first, a, second, b)
	}
	if full != http.StatusTooManyRequests || errorCode(refused) != "queue_full" {
		t.Errorf("bob's second in line: %d %v, want 429 queue_full", full, refused)
	}
	body, signature := signedWebhook(t, vectors.ReadWebhooks(t), "success", a["renderId"].(string))
	hook := apiEvent("POST /webhooks/remotion", body, nil, nil)
	hook.Headers["x-remotion-signature"] = signature
	if resp, out := q.emu.invoke(t, hook); resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook: %d %v", resp.StatusCode, out)
	}

	if next := q.read(t, e2eBob, b["renderId"].(string)); next["state"] != "rendering" {
		t.Errorf("the next render after the webhook: %v", next)
	}
	if n := q.starts(); n != 2 {
		t.Errorf("%d starts, want 2", n)
	}
}

// A render whose webhook was lost is found by the sweeper on its schedule,
// which asks Remotion, finishes it and starts the next in line.
func TestBootstrapSweeperDispatchesWhenAWebhookIsLost(t *testing.T) {
	q := newQueueing(t, func(inv standin.Invocation) standin.Reply {
		if strings.Contains(string(inv.Payload), `"type":"status"`) {
			return standin.Reply{Body: vectors.Read(t, "progress-done.json")}
		}
		return standin.NewRenders(e2eBucket)(inv)
	})
	_, a := q.start(t, e2eAlice, "5")
	q.start(t, e2eBob, "5")
	q.age(t, a["renderId"].(string))

	q.sweep(t)

	if n := q.starts(); n != 2 {
		t.Errorf("%d starts after the sweep, want 2", n)
	}
	if evs := q.srv.Events(); len(evs) != 1 || evs[0].DetailType != "Render Succeeded" || !strings.Contains(evs[0].Detail, a["renderId"].(string)) {
		t.Errorf("events %+v, want the lost render's one event", evs)
	}
	out, _ := q.db.Client().GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(q.table),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "line"}}})
	if n, ok := out.Item["inUse"].(*types.AttributeValueMemberN); !ok || n.Value != "6" {
		t.Errorf("capacity in use %v, want the second render's 6", out.Item["inUse"])
	}
}

// A queued render is cancelled at no cost; a start throttled by Lambda goes
// back to the head of the line rather than fail.
func TestBootstrapCancelsAQueuedRenderAndRequeuesAThrottledStart(t *testing.T) {
	replies := &script{}
	q := newQueueing(t, replies.respond)
	replies.set(standin.Started(e2eBucket, e2eRenderID))
	q.start(t, e2eAlice, "5")
	_, b := q.start(t, e2eBob, "5")

	cancel := apiEvent("DELETE /renders/{renderId}", "", map[string]string{"renderId": b["renderId"].(string)}, nil)
	cancel.RequestContext.Authorizer = iamCaller(e2eBob)
	resp, cancelled := q.emu.invoke(t, cancel)
	if resp.StatusCode != http.StatusOK || cancelled["state"] != "cancelled" {
		t.Errorf("cancel: %d %v", resp.StatusCode, cancelled)
	}

	replies.set(standin.Throttled) // every attempt the SDK makes
	throttled, c := q.start(t, e2eCarol, "3")
	if throttled != http.StatusAccepted || c["state"] != "queued" || c["position"] != 1.0 {
		t.Errorf("a throttled start: %d %v, want 202 queued at the head", throttled, c)
	}
	if evs := q.srv.Events(); len(evs) != 1 || evs[0].DetailType != "Render Cancelled" {
		t.Errorf("events %+v, want the cancelled render's", evs)
	}
	var starts []string
	for _, inv := range q.srv.Invocations() {
		var p struct{ Concurrency *int }
		json.Unmarshal(inv.Payload, &p)
		if p.Concurrency != nil && *p.Concurrency == 5 {
			starts = append(starts, "5")
		}
	}
	if len(starts) != 1 {
		t.Errorf("the cancelled render was sent: %d starts of concurrency 5", len(starts))
	}
}

package main

// End-to-end: the cost ledger and its limits, through the real bootstrap
// under the emulator, with the render table on dynalite.

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"remotion-lambda-iam/internal/dynalite"
	"remotion-lambda-iam/internal/standin"
	"remotion-lambda-iam/internal/vectors"
	"remotion-lambda-iam/lambda/env"
)

// A render's cost, learned from its webhook, or from a poll, or from one
// progress call after a failure's webhook, goes into the caller's day; a
// start that could pass the caller's daily limit is refused before
// anything runs.
func TestBootstrapKeepsTheLedgerAndItsLimit(t *testing.T) {
	buildBinaries(t)
	db := dynalite.Shared(t)
	fatal := strings.Replace(string(vectors.Read(t, "progress-fatal.json")), `"accruedSoFar": 0,`, `"accruedSoFar": 0.0021,`, 1)
	renders := standin.NewRenders(e2eBucket)
	srv := standin.Start(func(inv standin.Invocation) standin.Reply {
		if strings.Contains(string(inv.Payload), `"type":"status"`) {
			return standin.Reply{Body: json.RawMessage(fatal)}
		}
		return renders(inv)
	})
	t.Cleanup(srv.Close)
	srv.SetSecret("webhook", vectors.ReadWebhooks(t).Secret)
	emu := startEmulator(t, srv, append(trackingEnv(db, db.NewRenderTable(t), srv, "webhook"), env.DailySpendLimit+"=0.15")...)
	start := func() (int, map[string]any) {
		ev := webhookedStart()
		ev.RequestContext.Authorizer = iamCaller(e2eAlice)
		resp, body := emu.invoke(t, ev)
		return resp.StatusCode, body
	}
	_, succeeded := start()
	_, failed := start()
	_, polled := start()
	refused, body := start()

	if refused != http.StatusTooManyRequests || errorCode(body) != "spend_limit_reached" {
		t.Errorf("a fourth estimate of 0.05 under 0.15: %d %v", refused, body)
	}
	for _, hook := range []struct{ vector, id string }{{"success", succeeded["renderId"].(string)}, {"error", failed["renderId"].(string)}} {
		b, signature := signedWebhook(t, vectors.ReadWebhooks(t), hook.vector, hook.id)
		ev := apiEvent("POST /webhooks/remotion", b, nil, nil)
		ev.Headers["x-remotion-signature"] = signature
		if resp, out := emu.invoke(t, ev); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s webhook: %d %v", hook.vector, resp.StatusCode, out)
		}
	}
	poll := apiEvent("GET /renders/{renderId}", "", map[string]string{"renderId": polled["renderId"].(string)}, nil)
	poll.RequestContext.Authorizer = iamCaller(e2eAlice)
	emu.invoke(t, poll)

	costs := apiEvent("GET /renders/costs", "", nil, nil)
	costs.RequestContext.Authorizer = iamCaller(e2eAlice)
	resp, days := emu.invoke(t, costs)
	if resp.StatusCode != http.StatusOK || days["total"] != 0.0165 {
		t.Errorf("the costs: %d %v, want a total of 0.0123 + 0.0021 + 0.0021", resp.StatusCode, days)
	}
	if again, body := start(); again != http.StatusAccepted {
		t.Errorf("a start once the renders ended below their estimates: %d %v", again, body)
	}
}

package api_test

import (
	"context"
	"encoding/json"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"remotion-lambda-iam/contract/renderapi"
	"remotion-lambda-iam/internal/dynalite"
	"remotion-lambda-iam/internal/standin"
	"remotion-lambda-iam/internal/vectors"
	"remotion-lambda-iam/lambda/api"
	"remotion-lambda-iam/lambda/lifecycle"
	"remotion-lambda-iam/lambda/records"
)

func usd(s string) *big.Rat {
	r, _ := new(big.Rat).SetString(s)
	return r
}

// ledgered is the default deployment with a cost ledger: an estimate of
// 0.05 a render, and the limits given (empty: none; daily "off": no
// ledger at all).
func ledgered(t testing.TB, daily, monthly string, respond func(standin.Invocation) standin.Reply) (*fixture, *records.Store) {
	t.Helper()
	db := dynalite.Shared(t)
	store := records.New(db.Client(), db.NewRenderTable(t), 90*24*time.Hour)
	spend := &lifecycle.Spend{Estimate: usd("0.05")}
	if daily != "" && daily != "off" {
		spend.Daily = usd(daily)
	}
	if monthly != "" {
		spend.Monthly = usd(monthly)
	}
	keep := func(srv *standin.Server) lifecycle.Config {
		lc := webhooked(t, srv, store)
		if daily != "off" {
			lc.Spend = spend
		}
		return lc
	}
	return build(t, api.Config{DefaultServeURL: serveURL}, keep, respond), store
}

// Remotion's cost of each outcome, however it was learned: a success's
// webhook, a poll, and a failure's webhook with one progress call.
func TestEveryFinishedRenderKeepsItsCost(t *testing.T) {
	// Remotion's fatal progress, after a render that cost 0.0021.
	fatal := strings.Replace(string(vectors.Read(t, "progress-fatal.json")), `"accruedSoFar": 0,`, `"accruedSoFar": 0.0021,`, 1)
	f, store := ledgered(t, "", "", func(inv standin.Invocation) standin.Reply {
		if strings.Contains(string(inv.Payload), `"type":"status"`) {
			return standin.Reply{Body: json.RawMessage(fatal)}
		}
		return standin.NewRenders(bucket)(inv)
	})
	succeeded, failed, polled := startRecorded(t, f), startRecorded(t, f), startRecorded(t, f)

	f.do(t, delivery(t, "success", succeeded))
	f.do(t, delivery(t, "error", failed))
	f.do(t, as(alice, get(polled, nil)))

	for id, want := range map[string]string{succeeded: "0.0123", failed: "0.0021", polled: "0.0021"} {
		r, err := store.Get(context.Background(), id)
		if err != nil || !r.State.Final() || r.Costs == nil || string(r.Costs.EstimatedCost) != want {
			t.Errorf("record %+v, %v; want final with the cost %s", r, err, want)
		}
	}
	_, renders := f.do(t, as(alice, list(renderapi.RouteList.Key(), nil)))
	for _, r := range renders["renders"].([]any) {
		costs, _ := r.(map[string]any)["costs"].(map[string]any)
		if costs["estimatedCost"] == nil || costs["disclaimer"] != renderapi.CostDisclaimer {
			t.Errorf("a render in the list without its cost and disclaimer: %v", r)
		}
	}
	_, days := f.do(t, as(alice, list(renderapi.RouteCosts.Key(), nil)))
	if days["total"] != 0.0165 || len(days["days"].([]any)) != 1 || days["disclaimer"] != renderapi.CostDisclaimer {
		t.Errorf("the costs: %v, want a total of 0.0165 on one day", days)
	}
}

// Operators see every caller's days.
func TestOperatorsSeeEveryCallersCosts(t *testing.T) {
	f, _ := ledgered(t, "", "", standin.NewRenders(bucket))
	a := startRecorded(t, f)
	f.do(t, delivery(t, "success", a))
	_, b := f.do(t, fromAPIGateway(as(bob, post(`{"composition":"MyComp"}`))))
	f.do(t, delivery(t, "success", idOf(t, b)))

	_, own := f.do(t, as(bob, list(renderapi.RouteCosts.Key(), nil)))
	_, all := f.do(t, as(bob, list(renderapi.RouteCostsAll.Key(), nil)))

	var callers []string
	for _, d := range all["days"].([]any) {
		callers = append(callers, d.(map[string]any)["caller"].(string))
	}
	slices.Sort(callers)
	if !slices.Equal(callers, []string{alice, bob}) || all["total"] != 0.0246 {
		t.Errorf("everyone's costs: %v", all)
	}
	if len(own["days"].([]any)) != 1 || own["total"] != 0.0123 {
		t.Errorf("bob's costs: %v", own)
	}
}

// A start that could pass the caller's daily limit is refused before
// anything is invoked, saying the limit, the spend and when it resets;
// renders that ended give back what their estimates held beyond their cost.
func TestADailyLimitRefusesAStartBeforeAnythingRuns(t *testing.T) {
	f, _ := ledgered(t, "0.1", "", standin.NewRenders(bucket))
	first, second := startRecorded(t, f), startRecorded(t, f)

	status, body := f.do(t, fromAPIGateway(as(alice, post(`{"composition":"MyComp"}`))))
	other, _ := f.do(t, fromAPIGateway(as(bob, post(`{"composition":"MyComp"}`))))

	code, _, _ := errorOf(body)
	limit, _ := body["error"].(map[string]any)["spendLimit"].(map[string]any)
	tomorrow := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1).Format(time.RFC3339)
	if status != http.StatusTooManyRequests || code != "spend_limit_reached" || limit["period"] != "day" ||
		limit["limit"] != 0.1 || limit["spent"] != 0.1 || limit["resetsAt"] != tomorrow {
		t.Errorf("the third start: %d %v", status, body)
	}
	if other != http.StatusAccepted {
		t.Errorf("another caller's start: %d, want 202: the limit is each caller's", other)
	}
	if n := len(f.srv.Invocations()); n != 3 {
		t.Errorf("%d invocations, want 3", n)
	}
	// Both renders end, costing less than their estimates: room again.
	f.do(t, delivery(t, "success", first))
	f.do(t, delivery(t, "success", second))
	if again, body := f.do(t, fromAPIGateway(as(alice, post(`{"composition":"MyComp"}`)))); again != http.StatusAccepted {
		t.Errorf("a start after the renders ended: %d %v", again, body)
	}
}

// Concurrent starts by one caller cannot together slip past the limit.
func TestParallelStartsAtTheLimit(t *testing.T) {
	f, _ := ledgered(t, "0.5", "", standin.NewRenders(bucket))
	var wg sync.WaitGroup
	answers := make([]events.APIGatewayV2HTTPResponse, 20)
	for i := range answers {
		wg.Go(func() {
			answers[i], _ = f.h.Handle(context.Background(), fromAPIGateway(as(alice, post(`{"composition":"MyComp"}`))))
		})
	}
	wg.Wait()

	accepted, refused := 0, 0
	for _, a := range answers {
		switch {
		case a.StatusCode == http.StatusAccepted:
			accepted++
		case a.StatusCode == http.StatusTooManyRequests && strings.Contains(a.Body, "spend_limit_reached"):
			refused++
		default:
			t.Errorf("answer %d %s", a.StatusCode, a.Body)
		}
	}
	if accepted != 10 || refused != 10 || len(f.srv.Invocations()) != 10 {
		t.Errorf("%d accepted, %d refused, %d invocations; want 10 of 20 at 0.05 under 0.5", accepted, refused, len(f.srv.Invocations()))
	}
}

// The deployment's monthly limit counts every caller.
func TestAMonthlyLimitCountsEveryCaller(t *testing.T) {
	f, _ := ledgered(t, "", "0.1", standin.NewRenders(bucket))
	f.do(t, fromAPIGateway(as(alice, post(`{"composition":"MyComp"}`))))
	f.do(t, fromAPIGateway(as(bob, post(`{"composition":"MyComp"}`))))

	status, body := f.do(t, fromAPIGateway(as(alice, post(`{"composition":"MyComp"}`))))

	limit, _ := body["error"].(map[string]any)["spendLimit"].(map[string]any)
	if status != http.StatusTooManyRequests || limit["period"] != "month" {
		t.Errorf("the third start this month: %d %v", status, body)
	}
}

func BenchmarkStartWithSpendLimit(b *testing.B) {
	for _, limited := range []bool{false, true} {
		name := "without"
		if limited {
			name = "with"
		}
		b.Run(name, func(b *testing.B) {
			daily := "off"
			if limited {
				daily = "1000000"
			}
			f, _ := ledgered(b, daily, "", standin.NewRenders(bucket))
			var samples []time.Duration
			for b.Loop() {
				begin := time.Now()
				resp, _ := f.h.Handle(context.Background(), fromAPIGateway(as(alice, post(`{"composition":"MyComp"}`))))
				samples = append(samples, time.Since(begin))
				if resp.StatusCode != http.StatusAccepted {
					b.Fatalf("status %d %s", resp.StatusCode, resp.Body)
				}
			}
			slices.Sort(samples)
			b.ReportMetric(float64(samples[len(samples)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(samples[len(samples)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}

package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"remotion-lambda-iam/contract/renderapi"
	"remotion-lambda-iam/internal/dynalite"
	"remotion-lambda-iam/internal/standin"
	"remotion-lambda-iam/internal/vectors"
	"remotion-lambda-iam/lambda/api"
	"remotion-lambda-iam/lambda/budget"
	"remotion-lambda-iam/lambda/lifecycle"
	"remotion-lambda-iam/lambda/records"
)

// queued is the default deployment, with a budget of executions renders
// wait their turn for: records, webhooks, events and the line.
func queued(t testing.TB, executions int, respond func(standin.Invocation) standin.Reply) (*fixture, *queueTable) {
	t.Helper()
	db := dynalite.Shared(t)
	table := db.NewRenderTable(t)
	store := records.New(db.Client(), table, 90*24*time.Hour)
	keep := func(srv *standin.Server) lifecycle.Config {
		lc := webhooked(t, srv, store)
		lc.Queue = &lifecycle.Queue{Budget: budget.Fixed(executions), MaxQueued: 100, MaxQueuedPerCaller: 3, RenderTimeout: 2 * time.Minute}
		return lc
	}
	return build(t, api.Config{DefaultServeURL: serveURL}, keep, respond), &queueTable{store: store, db: db.Client(), name: table}
}

type queueTable struct {
	store *records.Store
	db    *dynamodb.Client
	name  string
}

// age makes a render's hold on the budget look taken an hour ago, as the
// sweeper finds one whose outcome was never learned.
func (q *queueTable) age(t testing.TB, renderID string) {
	t.Helper()
	_, err := q.db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                 aws.String(q.name),
		Key:                       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "line"}},
		UpdateExpression:          aws.String("SET holds.#id.since = :then"),
		ExpressionAttributeNames:  map[string]string{"#id": renderID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":then": &types.AttributeValueMemberN{Value: "1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (q *queueTable) line(t testing.TB) *records.Line {
	t.Helper()
	l, err := q.store.ReadLine(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// withConcurrency is a start of a render with concurrency renderers: it
// uses concurrency + 1 executions.
func withConcurrency(caller, concurrency string) events.APIGatewayV2HTTPRequest {
	return fromAPIGateway(as(caller, post(`{"composition":"MyComp","concurrency":`+concurrency+`}`)))
}

func starts(f *fixture) int {
	n := 0
	for _, inv := range f.srv.Invocations() {
		if strings.Contains(string(inv.Payload), `"type":"start"`) {
			n++
		}
	}
	return n
}

// A start that fits the budget now is sent at once; one that does not
// waits its turn, told where it stands, and every route takes its ID.
func TestAStartThatDoesNotFitWaitsItsTurn(t *testing.T) {
	f, q := queued(t, 10, standin.NewRenders(bucket))

	first, a := f.do(t, withConcurrency(alice, "5"))
	second, b := f.do(t, withConcurrency(alice, "5"))
	_, progress := f.do(t, as(alice, get(idOf(t, b), nil)))

	if first != http.StatusAccepted || a["state"] != "rendering" {
		t.Errorf("a start that fits: %d %v", first, a)
	}
	if second != http.StatusAccepted || b["state"] != "queued" || b["position"] != 1.0 || b["remotionRenderId"] != nil {
		t.Errorf("a start that does not fit: %d %v, want 202 queued at position 1", second, b)
	}
	if progress["state"] != "queued" || progress["position"] != 1.0 {
		t.Errorf("its progress: %v", progress)
	}
	if n := starts(f); n != 1 {
		t.Errorf("%d starts sent, want 1", n)
	}
	if l := q.line(t); l.InUse != 6 || len(l.Queue) != 1 {
		t.Errorf("line %+v, want 6 in use and one waiting", l)
	}
}

// A render's webhook gives back what it held, and the next render in line
// starts, once.
func TestAWebhookLetsTheNextRenderStart(t *testing.T) {
	f, q := queued(t, 10, standin.NewRenders(bucket))
	_, a := f.do(t, withConcurrency(alice, "5"))
	_, b := f.do(t, withConcurrency(bob, "5"))

	status, _ := f.do(t, delivery(t, "success", idOf(t, a)))
	again, _ := f.do(t, delivery(t, "success", idOf(t, a)))
	_, progress := f.do(t, as(bob, get(idOf(t, b), nil)))

	if status != http.StatusOK || again != http.StatusOK || progress["state"] != "rendering" {
		t.Errorf("webhook %d, again %d; the next render %v", status, again, progress)
	}
	if n := starts(f); n != 2 {
		t.Errorf("%d starts, want 2: each render once", n)
	}
	if l := q.line(t); l.InUse != 6 || len(l.Queue) != 0 || len(l.Holds) != 1 {
		t.Errorf("line %+v, want the second render's 6 in use", l)
	}
}

// A render whose webhook never came is found by the sweeper, which asks
// Remotion, finishes it with its one event, and starts the next.
func TestTheSweeperFinishesARenderWhoseWebhookWasLost(t *testing.T) {
	f, q := queued(t, 10, func(inv standin.Invocation) standin.Reply {
		if strings.Contains(string(inv.Payload), `"type":"status"`) {
			return standin.Reply{Body: vectors.Read(t, "progress-done.json")}
		}
		return standin.NewRenders(bucket)(inv)
	})
	_, a := f.do(t, withConcurrency(alice, "5"))
	_, b := f.do(t, withConcurrency(bob, "5"))
	q.age(t, idOf(t, a))

	if err := f.renders.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}

	first, _ := q.store.Get(context.Background(), idOf(t, a))
	next, _ := q.store.Get(context.Background(), idOf(t, b))
	if first.State != records.Done || next.State != records.Rendering {
		t.Errorf("the lost one %s; the next %s", first.State, next.State)
	}
	if evs := f.srv.Events(); len(evs) != 1 || evs[0].DetailType != "Render Succeeded" {
		t.Errorf("events %+v, want one Render Succeeded", evs)
	}
	if n := starts(f); n != 2 {
		t.Errorf("%d starts, want 2", n)
	}
}

// A render waiting in line is cancelled at no cost, by its owner only; one
// that started says it cannot be.
func TestCancellingARenderInLine(t *testing.T) {
	f, q := queued(t, 10, standin.NewRenders(bucket))
	_, a := f.do(t, withConcurrency(alice, "5"))
	_, b := f.do(t, withConcurrency(alice, "5"))
	cancel := func(caller, id string) (int, map[string]any) {
		req := as(caller, get(id, nil))
		req.RouteKey = renderapi.RouteCancel.Key()
		return f.do(t, req)
	}

	byOther, _ := cancel(bob, idOf(t, b))
	status, cancelled := cancel(alice, idOf(t, b))
	again, _ := cancel(alice, idOf(t, b))
	started, body := cancel(alice, idOf(t, a))

	if byOther != http.StatusNotFound {
		t.Errorf("another caller's cancel: %d, want 404", byOther)
	}
	if status != http.StatusOK || cancelled["state"] != "cancelled" || again != http.StatusOK {
		t.Errorf("cancel: %d %v, again %d", status, cancelled, again)
	}
	if code, _, _ := errorOf(body); started != http.StatusConflict || code != "render_started" {
		t.Errorf("cancel of a started render: %d %v", started, body)
	}
	if evs := f.srv.Events(); len(evs) != 1 || evs[0].DetailType != "Render Cancelled" {
		t.Errorf("events %+v, want one Render Cancelled", evs)
	}
	if n, l := starts(f), q.line(t); n != 1 || len(l.Queue) != 0 || l.PerCaller[""] != 0 {
		t.Errorf("%d starts, line %+v", n, l)
	}
}

// Lambda throttling a start proves nothing ran: the render goes back to
// the head of the line, and starts when the line moves again.
func TestAThrottledStartWaitsAtTheHeadOfTheLine(t *testing.T) {
	f, q := queued(t, 10, standin.Sequence(standin.Throttled, standin.Started(bucket, renderID)))

	status, body := f.do(t, withConcurrency(alice, "5"))

	if n := len(f.srv.Invocations()); n != 1 {
		t.Errorf("%d invocations, want 1: the line, not the SDK, waits out a throttle", n)
	}
	if status != http.StatusAccepted || body["state"] != "queued" || body["position"] != 1.0 {
		t.Errorf("a throttled start: %d %v, want 202 queued first in line", status, body)
	}
	if l := q.line(t); l.InUse != 0 || !l.Paused(time.Now()) {
		t.Errorf("line %+v, want nothing held and a pause", l)
	}
}

// Past its bounds the line refuses a start, before anything is sent.
func TestAFullLineRefusesAStart(t *testing.T) {
	f, _ := queued(t, 10, standin.NewRenders(bucket))
	f.do(t, withConcurrency(alice, "9"))
	for range 3 {
		f.do(t, withConcurrency(alice, "9"))
	}

	status, body := f.do(t, withConcurrency(alice, "9"))
	other, _ := f.do(t, withConcurrency(bob, "9"))

	if code, _, _ := errorOf(body); status != http.StatusTooManyRequests || code != "queue_full" {
		t.Errorf("alice's fourth render in line: %d %v, want 429 queue_full", status, body)
	}
	if other != http.StatusAccepted {
		t.Errorf("bob's first: %d", other)
	}
	if n := starts(f); n != 1 {
		t.Errorf("%d starts, want 1", n)
	}
}

// A render bigger than the whole budget would hold the line forever: it is
// refused, naming the concurrency.
func TestARenderOverTheWholeBudgetIsRefused(t *testing.T) {
	f, _ := queued(t, 10, standin.NewRenders(bucket))

	status, body := f.do(t, fromAPIGateway(as(alice, post(`{"composition":"MyComp"}`)))) // Remotion picks: up to 201

	if code, field, _ := errorOf(body); status != http.StatusBadRequest || code != "over_budget" || field != "concurrency" {
		t.Errorf("got %d %v", status, body)
	}
}

// Operators see the budget, what is in use and the line.
func TestOperatorsSeeTheQueue(t *testing.T) {
	f, _ := queued(t, 10, standin.NewRenders(bucket))
	f.do(t, withConcurrency(alice, "5"))
	f.do(t, withConcurrency(alice, "5"))
	req := as(bob, get("x", nil))
	req.RouteKey = renderapi.RouteQueue.Key()

	status, body := f.do(t, req)

	if status != http.StatusOK || body["budget"] != 10.0 || body["inUse"] != 6.0 || body["queued"] != 1.0 || body["inFlight"] != 1.0 {
		t.Errorf("got %d %v", status, body)
	}
}

// BenchmarkDispatchLatency measures, against dynalite, the time from a
// webhook that frees capacity arriving to the start of the render that
// waited for it: verify, finish, publish, give back, admit, invoke.
func BenchmarkDispatchLatency(b *testing.B) {
	var mu sync.Mutex
	var startedAt time.Time
	renders := standin.NewRenders(bucket)
	f, _ := queued(b, 6, func(inv standin.Invocation) standin.Reply {
		if strings.Contains(string(inv.Payload), `"type":"start"`) {
			mu.Lock()
			startedAt = time.Now()
			mu.Unlock()
		}
		return renders(inv)
	})
	_, running := f.do(b, withConcurrency(alice, "5"))
	var samples []time.Duration
	for b.Loop() {
		b.StopTimer()
		_, waiting := f.do(b, withConcurrency(bob, "5"))
		hook := delivery(b, "success", idOf(b, running))
		b.StartTimer()
		begin := time.Now()
		if status, body := f.do(b, hook); status != http.StatusOK {
			b.Fatalf("webhook: %d %v", status, body)
		}
		mu.Lock()
		samples = append(samples, startedAt.Sub(begin))
		mu.Unlock()
		running = waiting
	}
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(samples[len(samples)*95/100].Microseconds())/1000, "p95-ms")
}

// BenchmarkDynamoDBRequestsPerRender counts the requests one render costs
// the render table, from its start to its webhook: one that starts at once,
// and one that waits its turn first.
func BenchmarkDynamoDBRequestsPerRender(b *testing.B) {
	for _, waits := range []bool{false, true} {
		name := "at-once"
		if waits {
			name = "queued"
		}
		b.Run(name, func(b *testing.B) {
			db := dynalite.Shared(b)
			table := db.NewRenderTable(b)
			dynaliteURL, _ := url.Parse(db.URL)
			proxy := httputil.NewSingleHostReverseProxy(dynaliteURL)
			var calls atomic.Int64
			counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				proxy.ServeHTTP(w, r)
			}))
			defer counting.Close()
			cfg := db.AWSConfig()
			cfg.BaseEndpoint = &counting.URL
			store := records.New(dynamodb.NewFromConfig(cfg), table, time.Hour)
			keep := func(srv *standin.Server) lifecycle.Config {
				lc := webhooked(b, srv, store)
				lc.Queue = &lifecycle.Queue{Budget: budget.Fixed(6), MaxQueued: 100, RenderTimeout: time.Minute}
				return lc
			}
			f := build(b, api.Config{DefaultServeURL: serveURL}, keep, standin.NewRenders(bucket))
			var blocker map[string]any
			if waits {
				_, blocker = f.do(b, withConcurrency(alice, "5"))
			}
			var total int64
			for b.Loop() {
				before := calls.Load()
				_, r := f.do(b, withKey(uuid(b), withConcurrency(bob, "5")))
				if waits != (r["state"] == "queued") {
					b.Fatalf("state %v", r["state"])
				}
				if waits { // the render that blocks it ends, and it starts
					f.do(b, delivery(b, "success", idOf(b, blocker)))
				}
				f.do(b, delivery(b, "success", idOf(b, r)))
				total += calls.Load() - before
				if waits {
					b.StopTimer()
					_, blocker = f.do(b, withConcurrency(alice, "5"))
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(total)/float64(b.N), "requests/render")
		})
	}
}

func uuid(tb testing.TB) string {
	tb.Helper()
	return fmt.Sprintf("key-%d", time.Now().UnixNano())
}

// A repeated key answers with the render it started, where it now stands.
func TestARepeatedKeyOfAQueuedRenderSaysWhereItStands(t *testing.T) {
	f, _ := queued(t, 10, standin.NewRenders(bucket))
	f.do(t, withConcurrency(alice, "5"))
	req := withKey("order-7", withConcurrency(bob, "5"))

	_, first := f.do(t, req)
	status, again := f.do(t, req)

	if status != http.StatusAccepted || again["renderId"] != first["renderId"] || again["state"] != "queued" || again["position"] != 1.0 {
		t.Errorf("the repeat: %d %v, first %v", status, again, first)
	}
	if n := starts(f); n != 1 {
		t.Errorf("%d starts, want 1", n)
	}
}

// Cancelling the render at the head lets the line move: the next one that
// fits starts.
func TestCancellingTheHeadLetsTheNextStart(t *testing.T) {
	f, q := queued(t, 10, standin.NewRenders(bucket))
	f.do(t, withConcurrency(alice, "5")) // 6 of 10 in use
	_, head := f.do(t, withConcurrency(bob, "5"))
	_, next := f.do(t, withConcurrency(carol, "2"))
	req := as(bob, get(idOf(t, head), nil))
	req.RouteKey = renderapi.RouteCancel.Key()

	if status, body := f.do(t, req); status != http.StatusOK {
		t.Fatalf("cancel: %d %v", status, body)
	}

	if r, _ := q.store.Get(context.Background(), idOf(t, next)); r.State != records.Rendering {
		t.Errorf("the next render: %s, want rendering", r.State)
	}
	if n := starts(f); n != 2 {
		t.Errorf("%d starts, want 2", n)
	}
}

const carol = "arn:aws:iam::123456789012:user/carol"

package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"remotion-lambda-iam/contract/renderapi"
	"remotion-lambda-iam/internal/dynalite"
	"remotion-lambda-iam/internal/standin"
	"remotion-lambda-iam/internal/vectors"
	"remotion-lambda-iam/lambda/api"
	"remotion-lambda-iam/lambda/lifecycle"
	"remotion-lambda-iam/lambda/records"
)

func TestMain(m *testing.M) {
	code := m.Run()
	dynalite.StopShared()
	os.Exit(code)
}

const (
	alice = "arn:aws:iam::123456789012:user/alice"
	bob   = "arn:aws:iam::123456789012:user/bob"
)

// tracked is a fixture whose handler keeps records in a new table of the
// shared dynalite.
func tracked(t *testing.T, respond func(standin.Invocation) standin.Reply) (*fixture, *records.Store) {
	t.Helper()
	db := dynalite.Shared(t)
	store := records.New(db.Client(), db.NewRenderTable(t), 90*24*time.Hour)
	keep := func(*standin.Server) lifecycle.Config { return lifecycle.Config{Records: store} }
	return build(t, api.Config{DefaultServeURL: serveURL}, keep, respond), store
}

// idOf is the render ID of a 202 answer.
func idOf(t testing.TB, body map[string]any) string {
	t.Helper()
	id, _ := body["renderId"].(string)
	if id == "" {
		t.Fatalf("no renderId in %v", body)
	}
	return id
}

// as sends req as an IAM principal, as API Gateway's IAM authorizer does.
func as(caller string, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: caller},
	}
	return req
}

func withKey(key string, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
	req.Headers = map[string]string{"content-type": "application/json", "idempotency-key": key}
	return req
}

func list(route string, query map[string]string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{RouteKey: route, QueryStringParameters: query}
}

func TestAStartedRenderIsRecordedWithWhoStartedIt(t *testing.T) {
	f, store := tracked(t, standin.Always(started))

	status, body := f.do(t, as(alice, post(`{"composition":"MyComp"}`)))

	if status != http.StatusAccepted {
		t.Fatalf("status %d", status)
	}
	r, err := store.Get(context.Background(), idOf(t, body))
	if err != nil {
		t.Fatal(err)
	}
	if r.RequestedBy != alice || r.Composition != "MyComp" || r.ServeURL != serveURL || r.BucketName != bucket || r.RemotionRenderID != renderID ||
		r.RequestID != "req-1" || r.State != records.Rendering || time.Since(r.CreatedAt) > time.Minute {
		t.Errorf("record %+v", r)
	}
	if body["remotionRenderId"] != renderID || body["progressUrl"] != "/renders/"+r.RenderID {
		t.Errorf("answer %v", body)
	}
}

func TestAJWTCallerIsItsIssuerAndSubject(t *testing.T) {
	f, store := tracked(t, standin.Always(started))
	req := post(`{"composition":"MyComp"}`)
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"iss": "https://issuer.example", "sub": "user-1"}},
	}

	_, body := f.do(t, req)

	if r, err := store.Get(context.Background(), idOf(t, body)); err != nil || r.RequestedBy != "https://issuer.example#user-1" {
		t.Errorf("record %+v, %v", r, err)
	}
}

func TestListsAreTheCallersOwnOrEveryones(t *testing.T) {
	f, store := tracked(t, standin.Always(started))
	now := time.Now()
	for i, r := range []struct{ id, by string }{{"a1", alice}, {"b1", bob}, {"a2", alice}} {
		store.Create(context.Background(), records.Render{RenderID: r.id, RequestedBy: r.by, CreatedAt: now.Add(time.Duration(i) * time.Second), State: records.Starting})
	}

	_, own := f.do(t, as(alice, list(renderapi.RouteList.Key(), nil)))
	_, all := f.do(t, as(bob, list(renderapi.RouteListAll.Key(), map[string]string{"limit": "2"})))

	if got := ids(own); got != "a2 a1" {
		t.Errorf("alice's list: %s, want a2 a1", got)
	}
	if got := ids(all); got != "a2 b1" || all["nextCursor"] == nil {
		t.Errorf("everyone's first page: %s (next %v), want a2 b1 and a cursor", got, all["nextCursor"])
	}
	_, rest := f.do(t, as(bob, list(renderapi.RouteListAll.Key(), map[string]string{"limit": "2", "cursor": all["nextCursor"].(string)})))
	if got := ids(rest); got != "a1" {
		t.Errorf("everyone's second page: %s, want a1", got)
	}
}

func ids(body map[string]any) string {
	var out []string
	renders, _ := body["renders"].([]any)
	for _, r := range renders {
		out = append(out, r.(map[string]any)["renderId"].(string))
	}
	return strings.Join(out, " ")
}

func TestBadListParametersAreRefused(t *testing.T) {
	f, _ := tracked(t, standin.Always(started))
	for _, query := range []map[string]string{{"limit": "0"}, {"limit": "101"}, {"limit": "ten"}, {"cursor": "nonsense"}} {
		status, body := f.do(t, as(alice, list(renderapi.RouteList.Key(), query)))
		if code, field, _ := errorOf(body); status != http.StatusBadRequest || code != "invalid_value" || field == "" {
			t.Errorf("%v: %d %v", query, status, body)
		}
	}
}

// A render that is over is answered from its record: no paid call.
func TestProgressOfAFinishedRenderInvokesNothing(t *testing.T) {
	f, _ := tracked(t, func(inv standin.Invocation) standin.Reply {
		if strings.Contains(string(inv.Payload), `"type":"start"`) {
			return started
		}
		return standin.Reply{Body: vectors.Read(t, "progress-done.json")}
	})
	_, body := f.do(t, as(alice, post(`{"composition":"MyComp"}`)))
	id := idOf(t, body)

	// The first poll asks Remotion, without ?bucket=: the record has it.
	status, first := f.do(t, as(alice, get(id, nil)))
	calls := len(f.srv.Invocations())
	_, second := f.do(t, as(alice, get(id, nil)))

	if status != http.StatusOK || first["state"] != "done" || second["state"] != "done" {
		t.Fatalf("polls: %d %v, then %v", status, first, second)
	}
	if n := len(f.srv.Invocations()); n != calls {
		t.Errorf("the second poll of a finished render invoked the render function (%d calls, want %d)", n, calls)
	}
	if second["outputFile"] != first["outputFile"] || second["costs"].(map[string]any)["displayCost"] != "$0.001" {
		t.Errorf("the record's answer %v differs from Remotion's %v", second, first)
	}
}

func TestProgressOfAnUnknownRenderIsNotFound(t *testing.T) {
	f, _ := tracked(t, standin.Always(started))

	status, body := f.do(t, get("norecord12", nil))

	if code, _, _ := errorOf(body); status != http.StatusNotFound || code != "render_not_found" {
		t.Errorf("got %d %v", status, body)
	}
}

func TestARepeatedKeyReplaysTheFirstAnswer(t *testing.T) {
	f, _ := tracked(t, standin.Always(started))
	req := as(alice, withKey("order-42", post(`{"composition":"MyComp","inputProps":{"a":1,"b":2}}`)))
	same := as(alice, withKey("order-42", post(`{ "inputProps": {"b":2, "a":1}, "composition": "MyComp" }`)))

	first, err := f.h.Handle(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	second, _ := f.h.Handle(context.Background(), same)

	if first.StatusCode != http.StatusAccepted || second.StatusCode != http.StatusAccepted || second.Body != first.Body {
		t.Errorf("answers %d %s and %d %s", first.StatusCode, first.Body, second.StatusCode, second.Body)
	}
	if second.Headers[renderapi.HeaderReplayed] != "true" || first.Headers[renderapi.HeaderReplayed] != "" || second.Headers["Location"] != first.Headers["Location"] {
		t.Errorf("headers %v then %v", first.Headers, second.Headers)
	}
	if n := len(f.srv.Invocations()); n != 1 {
		t.Errorf("%d invocations, want 1", n)
	}
}

func TestAKeyWithAnotherBodyIsRefused(t *testing.T) {
	f, _ := tracked(t, standin.Always(started))
	f.do(t, as(alice, withKey("order-42", post(`{"composition":"MyComp"}`))))

	status, body := f.do(t, as(alice, withKey("order-42", post(`{"composition":"Other"}`))))

	if code, _, _ := errorOf(body); status != http.StatusUnprocessableEntity || code != "idempotency_key_reused" {
		t.Errorf("got %d %v", status, body)
	}
	if n := len(f.srv.Invocations()); n != 1 {
		t.Errorf("%d invocations, want 1", n)
	}
}

func TestAKeyInFlightAnswers409WithRetryAfter(t *testing.T) {
	// The render function holds the first start until the test lets it go.
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	f, _ := tracked(t, func(standin.Invocation) standin.Reply {
		once.Do(func() { close(entered) })
		<-release
		return started
	})
	req := as(alice, withKey("order-42", post(`{"composition":"MyComp"}`)))
	firstDone := make(chan int)
	go func() {
		resp, _ := f.h.Handle(context.Background(), req)
		firstDone <- resp.StatusCode
	}()
	<-entered

	second, _ := f.h.Handle(context.Background(), req)
	close(release)

	if second.StatusCode != http.StatusConflict || !strings.Contains(second.Body, "idempotency_in_progress") || second.Headers["Retry-After"] != "2" {
		t.Errorf("second request: %d %s %v", second.StatusCode, second.Body, second.Headers)
	}
	if first := <-firstDone; first != http.StatusAccepted {
		t.Errorf("first request: %d", first)
	}
	if n := len(f.srv.Invocations()); n != 1 {
		t.Errorf("%d invocations, want 1", n)
	}
}

// A client error starts nothing: the key is free for a corrected request.
func TestAClientErrorReleasesTheKey(t *testing.T) {
	f, _ := tracked(t, standin.Always(started))

	bad, _ := f.do(t, as(alice, withKey("order-42", post(`{"composition":"MyComp","crf":70}`))))
	good, body := f.do(t, as(alice, withKey("order-42", post(`{"composition":"MyComp","crf":20}`))))

	if bad != http.StatusBadRequest || good != http.StatusAccepted {
		t.Errorf("got %d, then %d %v", bad, good, body)
	}
}

// A start whose outcome is unknown is never sent again for the same key:
// every answer that does not prove that nothing ran: Lambda's 500,
// Remotion's function crashing (a function error), a reply that is not
// JSON, and an error Remotion reports after it may have launched the render.
func TestAnUnknownOutcomeIsNeverStartedAgain(t *testing.T) {
	for name, failure := range map[string]standin.Reply{
		"a 500 from Lambda":         standin.ServiceError,
		"a function error":          {FunctionError: "Unhandled", Body: map[string]string{"errorType": "Runtime.ExitError", "errorMessage": "signal: killed"}},
		"a reply that is not JSON":  {Body: "<html>"},
		"an error after the launch": {Body: map[string]string{"type": "error", "message": "Could not write the initial progress file"}},
	} {
		t.Run(name, func(t *testing.T) {
			f, store := tracked(t, standin.Sequence(failure, started))
			req := as(alice, withKey("order-42", post(`{"composition":"MyComp"}`)))

			first, answer := f.do(t, req)
			second, body := f.do(t, req)

			code, _, _ := errorOf(answer)
			if first != http.StatusBadGateway || code != "start_outcome_unknown" {
				t.Errorf("first answer %d %v, want 502 start_outcome_unknown", first, answer)
			}
			if code, _, message := errorOf(body); second != http.StatusConflict || code != "start_outcome_unknown" || !strings.Contains(message, "GET /renders") {
				t.Errorf("the repeat: %d %v, want 409 start_outcome_unknown", second, body)
			}
			if n := len(f.srv.Invocations()); n != 1 {
				t.Errorf("%d invocations, want 1", n)
			}
			id, _ := answer["error"].(map[string]any)["renderId"].(string)
			if r, err := store.Get(context.Background(), id); err != nil || r.State != records.Unknown {
				t.Errorf("the record of %q: %+v, %v; want its state unknown", id, r, err)
			}
		})
	}
}

// Only answers that prove nothing ran release the key: here, Remotion's
// refusal of another version, which it checks before it launches anything.
func TestAProvenRefusalReleasesTheKey(t *testing.T) {
	f, store := tracked(t, standin.Sequence(standin.Reply{Body: map[string]string{"type": "error", "message": "Version mismatch: the function has version 4.0.526"}}, started))
	req := as(alice, withKey("order-42", post(`{"composition":"MyComp"}`)))

	first, _ := f.do(t, req)
	second, body := f.do(t, req)

	if first != http.StatusBadGateway || second != http.StatusAccepted {
		t.Errorf("got %d, then %d %v", first, second, body)
	}
	if renders, _, _ := store.List(context.Background(), alice, 10, ""); len(renders) != 1 {
		t.Errorf("%d records, want only the render that started: %+v", len(renders), renders)
	}
}

// 50 concurrent requests with one key and one body start one render; each
// answer is that render or a 409.
func TestConcurrentRequestsWithOneKeyStartOneRender(t *testing.T) {
	f, _ := tracked(t, standin.Always(standin.Reply{Body: started.Body, Delay: 20 * time.Millisecond}))
	req := as(alice, withKey("order-42", post(`{"composition":"MyComp"}`)))

	var wg sync.WaitGroup
	answers := make([]events.APIGatewayV2HTTPResponse, 50)
	for i := range answers {
		wg.Go(func() { answers[i], _ = f.h.Handle(context.Background(), req) })
	}
	wg.Wait()

	if n := len(f.srv.Invocations()); n != 1 {
		t.Errorf("%d invocations, want 1", n)
	}
	replayed, inFlight := 0, 0
	for i, a := range answers {
		switch {
		case a.StatusCode == http.StatusAccepted && strings.Contains(a.Body, `"remotionRenderId":"`+renderID+`"`):
			if a.Headers[renderapi.HeaderReplayed] == "true" {
				replayed++
			}
		case a.StatusCode == http.StatusConflict && strings.Contains(a.Body, "idempotency_in_progress"):
			inFlight++
		default:
			t.Errorf("answer %d: %d %s", i, a.StatusCode, a.Body)
		}
	}
	if firstHand := len(answers) - replayed - inFlight; firstHand != 1 {
		t.Errorf("%d answers were 202 first-hand, want exactly 1 (%d replayed, %d told 409)", firstHand, replayed, inFlight)
	}
}

func TestBadKeysAreRefused(t *testing.T) {
	f, _ := tracked(t, standin.Always(started))
	untracked := newFixture(t, api.Config{DefaultServeURL: serveURL}, standin.Always(started))
	tests := []struct {
		name string
		f    *fixture
		key  string
	}{
		{"too long", f, strings.Repeat("k", 256)},
		{"not ASCII", f, "clé"},
		{"a control character", f, "a\tb"},
		{"no records to keep it in", untracked, "order-42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := tt.f.do(t, as(alice, withKey(tt.key, post(`{"composition":"MyComp"}`))))
			if code, field, _ := errorOf(body); status != http.StatusBadRequest || code != "invalid_value" || field != "Idempotency-Key" {
				t.Errorf("got %d %v", status, body)
			}
			if n := len(tt.f.srv.Invocations()); n != 0 {
				t.Errorf("%d invocations, want none", n)
			}
		})
	}
}

// The cost of records and keys on a start: compare with
// BenchmarkStartThroughHandler, which keeps neither.
func BenchmarkStartWithRecord(b *testing.B) {
	benchmarkStart(b, false)
}

func BenchmarkStartWithIdempotencyKey(b *testing.B) {
	benchmarkStart(b, true)
}

func benchmarkStart(b *testing.B, withIdempotencyKey bool) {
	db := dynalite.Shared(b)
	store := records.New(db.Client(), db.NewRenderTable(b), time.Hour)
	keep := func(*standin.Server) lifecycle.Config { return lifecycle.Config{Records: store} }
	f := build(b, api.Config{DefaultServeURL: serveURL}, keep, standin.NewRenders(bucket))
	req := as(alice, post(`{"composition":"MyComp","inputProps":{"title":"Hello","n":1},"codec":"h264","crf":20}`))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if withIdempotencyKey {
			i++
			req = withKey(fmt.Sprintf("key-%d", i), req)
		}
		resp, _ := f.h.Handle(context.Background(), req)
		if resp.StatusCode != http.StatusAccepted {
			b.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
		}
	}
}

// A render belongs to the caller who started it. Anyone else is told it
// does not exist, in the very answer an ID that does not exist gets, so
// that no answer confirms another caller's render; operators read all.
func TestEachCallerReadsOnlyTheirOwnRenders(t *testing.T) {
	jwt := func(sub string) func(events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
		return func(req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
			req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"iss": "https://issuer.example", "sub": sub}},
			}
			return req
		}
	}
	iam := func(arn string) func(events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
		return func(req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest { return as(arn, req) }
	}
	for _, callers := range []struct {
		name     string
		a, b, op func(events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest
	}{
		{"IAM principals", iam(alice), iam(bob), iam("arn:aws:iam::123456789012:role/operator")},
		{"JWT subjects of one issuer", jwt("user-a"), jwt("user-b"), jwt("operator")},
		// Identities are compared exactly: no case folding, no prefixes.
		{"IAM principals that differ in case", iam(alice), iam(strings.ToUpper(alice)), iam(bob)},
		{"JWT subjects one of which prefixes the other", jwt("user-a"), jwt("user-a2"), jwt("operator")},
	} {
		t.Run(callers.name, func(t *testing.T) {
			f, _ := tracked(t, standin.Always(started))
			_, body := f.do(t, callers.a(post(`{"composition":"MyComp"}`)))
			id := idOf(t, body)
			read := func(as func(events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest, route renderapi.Route, id string) events.APIGatewayV2HTTPResponse {
				req := get(id, nil)
				req.RouteKey = route.Key()
				resp, err := f.h.Handle(context.Background(), as(req))
				if err != nil {
					t.Fatal(err)
				}
				return resp
			}

			own := read(callers.a, renderapi.RouteProgress, id)
			others := read(callers.b, renderapi.RouteProgress, id)
			missing := read(callers.b, renderapi.RouteProgress, "nosuchrender0000000000000a")
			operator := read(callers.op, renderapi.RouteProgressAny, id)

			if own.StatusCode != http.StatusOK || !strings.Contains(own.Body, id) {
				t.Errorf("the owner reads her render: %d %s", own.StatusCode, own.Body)
			}
			if others.StatusCode != http.StatusNotFound || !strings.Contains(others.Body, `"render_not_found"`) {
				t.Errorf("another caller: %d %s, want 404 render_not_found", others.StatusCode, others.Body)
			}
			if others.Body != missing.Body || others.StatusCode != missing.StatusCode || fmt.Sprint(others.Headers) != fmt.Sprint(missing.Headers) {
				t.Errorf("another caller's render is answered\n%d %v %s\nbut a missing one\n%d %v %s", others.StatusCode, others.Headers, others.Body, missing.StatusCode, missing.Headers, missing.Body)
			}
			if operator.StatusCode != http.StatusOK || !strings.Contains(operator.Body, id) {
				t.Errorf("an operator reads anyone's render: %d %s", operator.StatusCode, operator.Body)
			}
		})
	}
}

// With records, a render that has none here costs a paid invocation of
// Remotion's function only when an operator asks.
func TestOnlyOperatorsReadRendersWithoutARecord(t *testing.T) {
	f, _ := tracked(t, standin.Always(standin.Reply{Body: vectors.Read(t, "progress-inProgress.json")}))
	caller := as(bob, get(renderID, map[string]string{"bucket": bucket}))
	operator := as(alice, get(renderID, map[string]string{"bucket": bucket}))
	operator.RouteKey = renderapi.RouteProgressAny.Key()

	refused, body := f.do(t, caller)
	calls := len(f.srv.Invocations())
	answered, progress := f.do(t, operator)

	if code, _, message := errorOf(body); refused != http.StatusNotFound || code != "render_not_found" || !strings.Contains(message, "operators") || calls != 0 {
		t.Errorf("a caller: %d %v after %d invocations; want 404 saying operators read it, and none", refused, body, calls)
	}
	if answered != http.StatusOK || progress["state"] != "rendering" || len(f.srv.Invocations()) != 1 {
		t.Errorf("an operator: %d %v", answered, progress)
	}
}

// A table that stops answering after the start cannot hold the function
// past its deadline: the writes that settle a start have a deadline of
// their own, inside the function's, and the caller is answered in time.
func TestAStalledTableCannotOutliveTheFunction(t *testing.T) {
	db := dynalite.Shared(t)
	tableName := db.NewRenderTable(t)
	dynaliteURL, _ := url.Parse(db.URL)
	proxy := httputil.NewSingleHostReverseProxy(dynaliteURL)
	release := make(chan struct{})
	stalling := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".UpdateItem") { // the writes after the start
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(stalling.Close)
	t.Cleanup(func() { close(release) }) // before Close, which waits for every handler
	cfg := db.AWSConfig()
	cfg.BaseEndpoint = &stalling.URL
	store := records.New(dynamodb.NewFromConfig(cfg), tableName, time.Hour)
	keep := func(*standin.Server) lifecycle.Config { return lifecycle.Config{Records: store} }
	f := build(t, api.Config{DefaultServeURL: serveURL}, keep, standin.Always(started))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()

	status, body := f.doCtx(t, ctx, as(alice, withKey("order-42", post(`{"composition":"MyComp"}`))))

	if ctx.Err() != nil {
		t.Error("the answer came after the function's deadline")
	}
	if status != http.StatusAccepted {
		t.Errorf("got %d %v, want the render that started", status, body)
	}
	if !strings.Contains(f.logs.String(), "idempotency key not settled") {
		t.Errorf("the unsettled key is not logged:\n%s", f.logs)
	}
}

// A request Remotion would refuse is refused before anything is written:
// it is a 400 even while the table is down.
func TestABadRequestWritesNothing(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	cfg := dynalite.Shared(t).AWSConfig()
	cfg.BaseEndpoint = &down.URL
	store := records.New(dynamodb.NewFromConfig(cfg), "renders", time.Hour)
	keep := func(*standin.Server) lifecycle.Config { return lifecycle.Config{Records: store} }
	f := build(t, api.Config{DefaultServeURL: serveURL}, keep, standin.Always(started))

	bad, body := f.do(t, as(alice, post(`{"composition":"MyComp","crf":70}`)))
	good, _ := f.do(t, as(alice, post(`{"composition":"MyComp","crf":20}`)))

	if code, field, _ := errorOf(body); bad != http.StatusBadRequest || code != "invalid_value" || field != "crf" {
		t.Errorf("got %d %v, want 400 naming crf", bad, body)
	}
	if good != http.StatusServiceUnavailable {
		t.Errorf("a good request got %d, want 503: the table is down", good)
	}
}

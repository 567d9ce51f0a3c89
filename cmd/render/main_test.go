package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
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
	"remotion-lambda-iam/lambda/budget"
	"remotion-lambda-iam/lambda/lifecycle"
	"remotion-lambda-iam/lambda/records"
	"remotion-lambda-iam/lambda/remotion"
)

const (
	testRenderID = "abcdef1234"
	testBucket   = "remotionlambda-useast1-abcdefghij"
	testFunction = "remotion-render-4-0-527-mem2048mb-disk2048mb-120sec"
	testServeURL = "https://remotionlambda-useast1-abcdefghij.s3.us-east-1.amazonaws.com/sites/my-site/index.html"
)

// fakeAPI stands in for the deployed API: it refuses requests without a
// SigV4 signature for execute-api, as API Gateway does, and passes the others
// to the function's real handler, whose Remotion client talks to a stand-in
// for the Lambda Invoke API. What the CLI decodes is what the function
// encodes.
type fakeAPI struct {
	srv *httptest.Server
	h   *api.Handler

	mu     sync.Mutex
	bodies [][]byte
	keys   []string // the Idempotency-Key of each POST
	gets   int
	// unavailable answers that many requests with API Gateway's own 503,
	// before the function sees them.
	unavailable int
	lambda      *standin.Server
}

var authPattern = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=AKIDTEST/\d{8}/us-east-1/execute-api/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$`)

// newFakeAPI has the render function accept starts, and answer successive
// status calls with the given progress replies; the last one repeats.
func newFakeAPI(t *testing.T, progress ...json.RawMessage) *fakeAPI {
	t.Helper()
	var mu sync.Mutex
	statuses := 0
	return newFakeAPIWith(t, func(inv standin.Invocation) standin.Reply {
		var payload struct{ Type string }
		json.Unmarshal(inv.Payload, &payload)
		if payload.Type == "start" {
			return standin.Started(testBucket, testRenderID)
		}
		mu.Lock()
		defer mu.Unlock()
		i := min(statuses, len(progress)-1)
		statuses++
		return standin.Reply{Body: progress[i]}
	})
}

// newFakeAPIWith has the render function answer with respond.
func newFakeAPIWith(t *testing.T, respond func(standin.Invocation) standin.Reply) *fakeAPI {
	t.Helper()
	lambda := standin.Start(respond)
	t.Cleanup(lambda.Close)
	client, err := remotion.New(lambda.AWSConfig(), remotion.Config{FunctionName: testFunction, Region: standin.Region})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeAPI{lambda: lambda}
	db := dynalite.Shared(t)
	store := records.New(db.Client(), db.NewRenderTable(t), 24*time.Hour)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	ledger := &lifecycle.Spend{Estimate: big.NewRat(5, 100)}
	line := &lifecycle.Queue{Budget: budget.Fixed(1000), MaxQueued: 100, RenderTimeout: time.Minute}
	if f.h, err = api.New(lifecycle.New(client, lifecycle.Config{Records: store, Spend: ledger, Queue: line}, log), api.Config{DefaultServeURL: testServeURL}, log); err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	m := authPattern.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil || !strings.Contains(m[1], "host") || !strings.Contains(m[1], "x-amz-date") ||
		r.Header.Get("X-Amz-Date") == "" || r.Header.Get("X-Amz-Security-Token") != "session-token" {
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"message":"Missing Authentication Token"}`)
		return
	}
	body, _ := io.ReadAll(r.Body)
	req := events.APIGatewayV2HTTPRequest{
		RawPath:               r.URL.Path,
		Headers:               map[string]string{"content-type": r.Header.Get("Content-Type"), "idempotency-key": r.Header.Get("Idempotency-Key")},
		Body:                  string(body),
		QueryStringParameters: map[string]string{},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID:  "req-cli",
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:iam::123456789012:user/cli"}},
		},
	}
	for k, v := range r.URL.Query() {
		req.QueryStringParameters[k] = v[0]
	}
	f.mu.Lock()
	if f.unavailable > 0 {
		f.unavailable--
		f.mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"message":"Service Unavailable"}`)
		return
	}
	id, isRender := strings.CutPrefix(r.URL.Path, "/renders/")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/renders":
		f.bodies = append(f.bodies, body)
		f.keys = append(f.keys, r.Header.Get("Idempotency-Key"))
		req.RouteKey = renderapi.RouteStart.Key()
	case r.Method == http.MethodGet && r.URL.Path == "/renders":
		req.RouteKey = renderapi.RouteList.Key()
	case r.Method == http.MethodGet && r.URL.Path == "/renders/costs":
		req.RouteKey = renderapi.RouteCosts.Key()
	case r.Method == http.MethodDelete && isRender:
		req.RouteKey = renderapi.RouteCancel.Key()
		req.PathParameters = map[string]string{"renderId": id}
	case r.Method == http.MethodGet && isRender:
		f.gets++
		req.RouteKey = renderapi.RouteProgress.Key()
		req.PathParameters = map[string]string{"renderId": id}
	default:
		req.RouteKey = r.Method + " " + r.URL.Path
	}
	f.mu.Unlock()
	resp, _ := f.h.Handle(r.Context(), req)
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(resp.StatusCode)
	io.WriteString(w, resp.Body)
}

// intoBucket turns a progress reply into one of a render into another bucket.
func intoBucket(t *testing.T, progress json.RawMessage, bucket, key string) json.RawMessage {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(progress, &p); err != nil {
		t.Fatal(err)
	}
	p["outBucket"], p["outKey"] = bucket, key
	p["outputFile"] = "https://" + bucket + ".s3.us-east-1.amazonaws.com/" + key
	b, _ := json.Marshal(p)
	return b
}

// withCredentials gives the process static credentials and no other AWS configuration.
func withCredentials(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "session-token")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("REMOTION_RENDER_API", "")
}

func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestRenderStartsWatchesAndPrintsTheOutput(t *testing.T) {
	withCredentials(t)
	fake := newFakeAPI(t, vectors.Read(t, "progress-justStarted.json"), vectors.Read(t, "progress-inProgress.json"), vectors.Read(t, "progress-done.json"))
	props := filepath.Join(t.TempDir(), "props.json")
	os.WriteFile(props, []byte(`{"title":"Hello","n":1}`), 0o644)

	code, stdout, stderr := runCLI(t, "", "-api", fake.srv.URL, "-composition", "MyComp", "-props", props,
		"-codec", "vp9", "-option", "crf=20", "-option", "frameRange=[0,39]", "-option", "colorSpace=bt709", "-interval", "1ms")

	if code != exitDone {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if stdout != "https://s3.us-east-1.amazonaws.com/remotionlambda-useast1-abcdefghij/renders/abcdef1234/out.mp4\n" {
		t.Errorf("stdout = %q, want the output URL alone", stdout)
	}
	for _, want := range []string{"rendering   0%", "rendering  62%  25 frames", "done 100%  40 frames  $0.001", "resume watching with: render progress "} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	var body map[string]any
	if err := json.Unmarshal(fake.bodies[0], &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"composition": "MyComp", "codec": "vp9", "crf": 20.0, "colorSpace": "bt709",
		"frameRange": []any{0.0, 39.0}, "inputProps": map[string]any{"title": "Hello", "n": 1.0},
	}
	if fmt.Sprint(body) != fmt.Sprint(want) {
		t.Errorf("request body = %v, want %v", body, want)
	}
}

// renderIDLine is a line of one of the API's render IDs.
var renderIDLine = regexp.MustCompile(`^[a-z2-7]{26}\n$`)

func TestNoWaitPrintsWhatProgressNeeds(t *testing.T) {
	withCredentials(t)
	fake := newFakeAPI(t, vectors.Read(t, "progress-justStarted.json"))

	code, stdout, _ := runCLI(t, `{"title":"from stdin"}`, "-api", fake.srv.URL, "-composition", "MyComp", "-props", "-", "-no-wait")

	if code != exitDone || !renderIDLine.MatchString(stdout) {
		t.Errorf("exit %d, stdout %q; want 0 and the render's ID, which is all that render progress needs", code, stdout)
	}
	if fake.gets != 0 {
		t.Error("-no-wait polled the progress")
	}
	if !strings.Contains(string(fake.bodies[0]), `"inputProps":{"title":"from stdin"}`) {
		t.Errorf("props from standard input not sent: %s", fake.bodies[0])
	}
}

func TestProgressResumesAndReportsAFailedRender(t *testing.T) {
	withCredentials(t)
	fake := newFakeAPI(t, vectors.Read(t, "progress-justStarted.json"), vectors.Read(t, "progress-fatal.json"))
	_, started, _ := runCLI(t, "", "-api", fake.srv.URL, "-composition", "MyComp", "-no-wait")

	code, stdout, stderr := runCLI(t, "", "progress", strings.TrimSpace(started), "-api", fake.srv.URL, "-interval", "1ms")

	if code != exitRenderFail {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitRenderFail, stderr)
	}
	if stdout != "" || !strings.Contains(stderr, "Could not find composition with ID MyCompX") {
		t.Errorf("stdout %q, stderr:\n%s", stdout, stderr)
	}
	if len(fake.bodies) != 1 {
		t.Error("progress started a render")
	}
}

func TestAPIErrorsAreShownWithTheirCode(t *testing.T) {
	withCredentials(t)
	fake := newFakeAPI(t, vectors.Read(t, "progress-justStarted.json"))

	code, _, stderr := runCLI(t, "", "-api", fake.srv.URL, "-composition", "MyComp", "-option", "crf=70")

	if code != exitAPIError || !strings.Contains(stderr, "400 invalid_value: crf must be between 1 and 51 for codec h264, not 70 (field crf)") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
	if len(fake.bodies) != 1 {
		t.Errorf("%d starts reached the API, want 1", len(fake.bodies))
	}
}

func TestUnsignedRequestsAreRefusedByTheStandIn(t *testing.T) {
	fake := newFakeAPI(t, vectors.Read(t, "progress-done.json"))

	resp, err := http.Post(fake.srv.URL+"/renders", "application/json", strings.NewReader(`{"composition":"C"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("unsigned request got %d, want 403: the signature check is not real", resp.StatusCode)
	}
}

func TestWatchingStopsAtTheTimeout(t *testing.T) {
	withCredentials(t)
	fake := newFakeAPI(t, vectors.Read(t, "progress-inProgress.json"))
	_, started, _ := runCLI(t, "", "-api", fake.srv.URL, "-composition", "MyComp", "-no-wait")
	id := strings.TrimSpace(started)

	code, _, stderr := runCLI(t, "", "progress", id, "-api", fake.srv.URL, "-interval", "5ms", "-timeout", "50ms")

	if code != exitWatchTimeout || !strings.Contains(stderr, "resume with: render progress "+id) {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	withCredentials(t)
	tests := []struct {
		name string
		args []string
		says string
	}{
		{"no composition", []string{"-api", "http://127.0.0.1:1"}, "-composition is required"},
		{"props not an object", []string{"-api", "http://127.0.0.1:1", "-composition", "C", "-props", "[1]"}, "-props"},
		{"props file missing", []string{"-api", "http://127.0.0.1:1", "-composition", "C", "-props", "/nonexistent/props.json"}, "-props"},
		{"bad option", []string{"-api", "http://127.0.0.1:1", "-composition", "C", "-option", "crf"}, "key=JSON"},
		{"misspelled option", []string{"-api", "http://127.0.0.1:1", "-composition", "C", "-option", "crff=20"}, `-option: unknown field "crff"`},
		{"option of the wrong type", []string{"-api", "http://127.0.0.1:1", "-composition", "C", "-option", "crf=high"}, "-option"},
		{"progress without a render", []string{"progress", "-interval", "1s"}, "needs the RENDER_ID"},
		{"stray argument", []string{"-composition", "C", "extra"}, "unexpected arguments"},
		{"bad API URL", []string{"-api", "ftp://x", "-composition", "C"}, "not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, "", tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.says) {
				t.Errorf("exit %d, stderr %q; want %d saying %q", code, stderr, exitUsage, tt.says)
			}
		})
	}
}

// Without -api, the URL comes from the stack's ApiUrl output.
func TestAPIURLComesFromTheStackOutput(t *testing.T) {
	withCredentials(t)
	fake := newFakeAPI(t, intoBucket(t, vectors.Read(t, "progress-done.json"), "my-renders", "renders/x.mp4"))
	cfn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.Form.Get("Action") != "DescribeStacks" || r.Form.Get("StackName") != "RendersProd" || r.Header.Get("Authorization") == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>
<StackName>RendersProd</StackName><StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2026-11-01T00:00:00Z</CreationTime>
<Outputs><member><OutputKey>ApiUrl</OutputKey><OutputValue>%s</OutputValue></member></Outputs>
</member></Stacks></DescribeStacksResult></DescribeStacksResponse>`, fake.srv.URL)
	}))
	t.Cleanup(cfn.Close)
	t.Setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", cfn.URL)

	code, stdout, stderr := runCLI(t, "", "-stack", "RendersProd", "-composition", "MyComp", "-interval", "1ms")

	if code != exitDone || stdout != "s3://my-renders/renders/x.mp4\n" {
		t.Errorf("exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
}

func TestMain(m *testing.M) {
	retryBase = time.Millisecond
	code := m.Run()
	dynalite.StopShared()
	os.Exit(code)
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestEveryStartCarriesAFreshIdempotencyKey(t *testing.T) {
	withCredentials(t)
	fake := newFakeAPI(t, vectors.Read(t, "progress-justStarted.json"))

	runCLI(t, "", "-api", fake.srv.URL, "-composition", "MyComp", "-no-wait")
	_, _, stderr := runCLI(t, "", "-api", fake.srv.URL, "-composition", "MyComp", "-no-wait")

	if len(fake.keys) != 2 || !uuidPattern.MatchString(fake.keys[0]) || fake.keys[0] == fake.keys[1] {
		t.Errorf("keys %q, want two different UUIDs", fake.keys)
	}
	if !strings.Contains(stderr, "Idempotency-Key "+fake.keys[1]) {
		t.Errorf("-no-wait does not print the key:\n%s", stderr)
	}
}

// The same key twice starts one render: the second answer is a replay.
func TestAGivenKeyMakesARepeatedStartSafe(t *testing.T) {
	withCredentials(t)
	fake := newFakeAPI(t, vectors.Read(t, "progress-justStarted.json"))

	var printed []string
	for range 2 {
		code, stdout, stderr := runCLI(t, "", "-api", fake.srv.URL, "-composition", "MyComp", "-no-wait", "-idempotency-key", "order-42")
		if code != exitDone || !renderIDLine.MatchString(stdout) {
			t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
		}
		printed = append(printed, stdout)
	}
	if printed[0] != printed[1] {
		t.Errorf("the repeat printed %q, the first %q: want the same render", printed[1], printed[0])
	}

	if fake.keys[0] != "order-42" || fake.keys[1] != "order-42" {
		t.Errorf("keys %q", fake.keys)
	}
	if n := len(fake.lambda.Invocations()); n != 1 {
		t.Errorf("%d invocations of the render function, want 1", n)
	}
}

func TestAStartIsRetriedWithItsKeyAfterA5xx(t *testing.T) {
	withCredentials(t)
	fake := newFakeAPI(t, vectors.Read(t, "progress-justStarted.json"))
	fake.unavailable = 2

	code, stdout, stderr := runCLI(t, "", "-api", fake.srv.URL, "-composition", "MyComp", "-no-wait")

	if code != exitDone || !renderIDLine.MatchString(stdout) {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
	if strings.Count(stderr, "retrying") != 2 || len(fake.keys) != 1 || fake.keys[0] == "" {
		t.Errorf("keys %q, stderr:\n%s", fake.keys, stderr)
	}
}

// A start whose outcome is unknown is retried with its key, which then
// refuses to start a second render: the CLI stops and says why.
func TestAnUnknownOutcomeIsNotStartedTwice(t *testing.T) {
	withCredentials(t)
	fake := newFakeAPIWith(t, standin.Sequence(standin.ServiceError, standin.Started(testBucket, testRenderID)))

	code, _, stderr := runCLI(t, "", "-api", fake.srv.URL, "-composition", "MyComp", "-no-wait", "-idempotency-key", "order-7")

	if code != exitAPIError || !strings.Contains(stderr, "409 start_outcome_unknown") || !strings.Contains(stderr, "-idempotency-key order-7") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
	if n := len(fake.lambda.Invocations()); n != 1 {
		t.Errorf("%d invocations of the render function, want 1", n)
	}
}

func TestRetriesAreBounded(t *testing.T) {
	withCredentials(t)
	fake := newFakeAPI(t, vectors.Read(t, "progress-justStarted.json"))
	fake.unavailable = 100

	code, _, stderr := runCLI(t, "", "-api", fake.srv.URL, "-composition", "MyComp", "-no-wait")

	if code != exitAPIError || strings.Count(stderr, "retrying") != startAttempts-1 {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}

func TestListShowsTheCallersRendersAsATable(t *testing.T) {
	withCredentials(t)
	fake := newFakeAPI(t, vectors.Read(t, "progress-justStarted.json"))
	_, started, _ := runCLI(t, "", "-api", fake.srv.URL, "-composition", "MyComp", "-no-wait")

	code, stdout, stderr := runCLI(t, "", "list", "-api", fake.srv.URL)

	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != exitDone || len(lines) != 2 || !strings.HasPrefix(lines[0], "RENDER ID") ||
		!strings.Contains(lines[1], strings.TrimSpace(started)) || !strings.Contains(lines[1], "rendering") || !strings.Contains(lines[1], "MyComp") ||
		!strings.Contains(lines[1], "user/cli") {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// render costs prints what the caller's renders cost, a day a line, with
// the total and the disclaimer.
func TestCostsShowsTheCallersDays(t *testing.T) {
	withCredentials(t)
	fake := newFakeAPI(t, vectors.Read(t, "progress-justStarted.json"), vectors.Read(t, "progress-done.json"))
	if code, _, stderr := runCLI(t, "", "-api", fake.srv.URL, "-composition", "MyComp", "-interval", "1ms"); code != exitDone {
		t.Fatalf("the render: exit %d\n%s", code, stderr)
	}

	code, stdout, stderr := runCLI(t, "", "costs", "-api", fake.srv.URL)

	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	today := time.Now().UTC().Format(time.DateOnly)
	if code != exitDone || len(lines) != 3 || !strings.HasPrefix(lines[0], "DAY") || !strings.HasPrefix(lines[1], today) ||
		!strings.Contains(lines[1], "0.0012") || !strings.HasPrefix(lines[2], "TOTAL") || !strings.Contains(lines[2], "0.0012") {
		t.Errorf("exit %d, stdout:\n%s", code, stdout)
	}
	if !strings.Contains(stderr, "Remotion's estimate") {
		t.Errorf("no disclaimer: %s", stderr)
	}
}

// A start refused by a spend limit is not retried: the limit resets hours
// or days later.
func TestASpendLimitIsNotRetried(t *testing.T) {
	if wait, retry := retryable(&apiError{Status: http.StatusTooManyRequests, Detail: renderapi.Error{Code: renderapi.CodeSpendLimitReached},
		RetryAfter: 10 * time.Hour}, 1); retry {
		t.Errorf("retried after %v", wait)
	}
	if _, retry := retryable(&apiError{Status: http.StatusTooManyRequests, Detail: renderapi.Error{Code: renderapi.CodeThrottled}}, 1); !retry {
		t.Error("a throttled start was not retried")
	}
}

// render cancel of a render that started says it cannot be cancelled.
func TestCancelSaysWhyItCannot(t *testing.T) {
	withCredentials(t)
	fake := newFakeAPI(t, vectors.Read(t, "progress-justStarted.json"))
	_, started, _ := runCLI(t, "", "-api", fake.srv.URL, "-composition", "MyComp", "-no-wait")

	code, _, stderr := runCLI(t, "", "cancel", strings.TrimSpace(started), "-api", fake.srv.URL)

	if code != exitAPIError || !strings.Contains(stderr, "409 render_started") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}

package main

// End-to-end: the real bootstrap binary under the AWS Lambda Runtime
// Interface Emulator, talking through the real AWS SDK to a local stand-in for
// the Lambda Invoke API and S3, receiving API Gateway HTTP API events.

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"remotion-lambda-iam/internal/dynalite"
	"remotion-lambda-iam/internal/logbuf"
	"remotion-lambda-iam/internal/standin"
	"remotion-lambda-iam/internal/vectors"
	"remotion-lambda-iam/lambda/env"
	"remotion-lambda-iam/lambda/logs"
	"remotion-lambda-iam/lambda/remotion"
)

const (
	e2eFunctionName = "remotion-render-4-0-527-mem2048mb-disk2048mb-120sec"
	e2eServeURL     = "https://remotionlambda-useast1-abcdefghij.s3.us-east-1.amazonaws.com/sites/my-site/index.html"
	e2eBucket       = "remotionlambda-useast1-abcdefghij"
	e2eRenderID     = "abcdef1234"
	// e2eTimeout is the emulated function's timeout: short, so that the
	// deadline test is quick, and above the handler's 2 s margin.
	e2eTimeout = 4 * time.Second
)

var (
	binOnce              sync.Once
	binDir               string
	bootstrapBin, rieBin string
	binErr               error
)

func TestMain(m *testing.M) {
	code := m.Run()
	dynalite.StopShared()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildBinaries builds, once per test binary, the function's bootstrap for
// this machine's architecture (the flags are the deployment's) and the emulator.
func buildBinaries(tb testing.TB) {
	tb.Helper()
	if runtime.GOOS != "linux" {
		tb.Skipf("the Lambda Runtime Interface Emulator runs on Linux only, not %s: the end-to-end tests need it", runtime.GOOS)
	}
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "remotion-e2e-"); binErr != nil {
			return
		}
		bootstrapBin = filepath.Join(binDir, "bootstrap")
		rieBin = filepath.Join(binDir, "aws-lambda-rie")
		for _, args := range [][]string{
			{"build", "-tags", "lambda.norpc", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w", "-o", bootstrapBin, "."},
			{"build", "-o", rieBin, "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"},
		} {
			cmd := exec.Command("go", args...)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				binErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
				return
			}
		}
	})
	if binErr != nil {
		tb.Fatal(binErr)
	}
}

// script is what the stand-in answers, changed between cases.
type script struct {
	mu      sync.Mutex
	replies []standin.Reply
}

// set answers the next invocations with rs, in turn; the last one repeats.
func (s *script) set(rs ...standin.Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replies = rs
}

func (s *script) respond(standin.Invocation) standin.Reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.replies[0]
	if len(s.replies) > 1 {
		s.replies = s.replies[1:]
	}
	return r
}

// emulator is one running aws-lambda-rie with the bootstrap under it.
type emulator struct {
	url      string
	cmd      *exec.Cmd
	logs     *logbuf.Buffer
	client   *http.Client
	stopOnce sync.Once
}

func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startEmulator runs the emulator with the function's environment pointed at
// srv. It is stopped, with the bootstrap, when the test ends, failed or not.
func startEmulator(tb testing.TB, srv *standin.Server, vars ...string) *emulator {
	tb.Helper()
	return startEmulatorOf(tb, []string{bootstrapBin}, srv, vars...)
}

// startEmulatorOf is startEmulator with another bootstrap: the command
// bootstrap[0] with its arguments bootstrap[1:].
func startEmulatorOf(tb testing.TB, bootstrap []string, srv *standin.Server, vars ...string) *emulator {
	tb.Helper()
	// A port found free can be taken before the emulator binds it, by any
	// connection's ephemeral port: the emulator then exits, and is started
	// again on others.
	for attempt := 1; ; attempt++ {
		e, err := tryEmulator(tb, bootstrap, srv, vars...)
		if err == nil {
			return e
		}
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			tb.Fatal(err)
		}
	}
}

var errPortTaken = errors.New("a port of the emulator was taken")

func tryEmulator(tb testing.TB, bootstrap []string, srv *standin.Server, vars ...string) (*emulator, error) {
	tb.Helper()
	addr, apiAddr := freeAddr(tb), freeAddr(tb)
	cmd := exec.Command(rieBin, append([]string{"--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, "--log-level", "error"}, bootstrap...)...)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.TempDir(),
		"AWS_REGION=" + standin.Region,
		"AWS_ACCESS_KEY_ID=AKIDSTANDIN",
		"AWS_SECRET_ACCESS_KEY=standin-secret",
		"AWS_ENDPOINT_URL_LAMBDA=" + srv.URL(),
		"AWS_ENDPOINT_URL_S3=" + srv.URL(),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_LAMBDA_FUNCTION_TIMEOUT=" + strconv.Itoa(int(e2eTimeout/time.Second)),
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"REMOTION_FUNCTION_NAME=" + e2eFunctionName,
		"REMOTION_REGION=" + standin.Region,
		"REMOTION_SERVE_URL=" + e2eServeURL,
	}, vars...)
	logs := &logbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	// Its own process group, so that stopping it stops the bootstrap too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the emulator: %w", err)
	}
	e := &emulator{url: "http://" + addr + "/2015-03-31/functions/function/invocations", cmd: cmd, logs: logs,
		client: &http.Client{Timeout: 3 * e2eTimeout}}
	tb.Cleanup(e.stop)

	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return e, nil
		}
		if strings.Contains(logs.String(), "address already in use") {
			e.stop()
			return nil, fmt.Errorf("%w:\n%s", errPortTaken, logs)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the emulator did not listen on %s within 10 s:\n%s", addr, logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop kills the emulator's process group, once: a second kill could reach
// a new group that reused the number.
func (e *emulator) stop() {
	e.stopOnce.Do(func() {
		syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		e.cmd.Wait()
	})
}

// invoke sends an API Gateway event and returns the function's response.
func (e *emulator) invoke(tb testing.TB, event events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, map[string]any) {
	tb.Helper()
	body, _ := json.Marshal(event)
	resp, err := e.client.Post(e.url, "application/json", bytes.NewReader(body))
	if err != nil {
		tb.Fatalf("invoke: %v\nemulator output:\n%s", err, e.logs)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(raw, &out); err != nil || out.StatusCode == 0 {
		tb.Fatalf("the function did not answer with an API Gateway response: %s\nemulator output:\n%s", raw, e.logs)
	}
	var parsed map[string]any
	if err := json.Unmarshal([]byte(out.Body), &parsed); err != nil {
		tb.Fatalf("response body is not JSON: %q", out.Body)
	}
	return out, parsed
}

// bootstrapPID finds the bootstrap process the emulator started.
func (e *emulator) bootstrapPID() (int, bool) {
	entries, _ := os.ReadDir("/proc")
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(e.cmd.Process.Pid) && strings.Contains(string(stat), "(bootstrap)") {
			return pid, true
		}
	}
	return 0, false
}

func apiEvent(route, body string, path map[string]string, query map[string]string) events.APIGatewayV2HTTPRequest {
	method, rawPath, _ := strings.Cut(route, " ")
	return events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              route,
		RawPath:               rawPath,
		Headers:               map[string]string{"content-type": "application/json"},
		PathParameters:        path,
		QueryStringParameters: query,
		Body:                  body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:  route,
			RequestID: "e2e",
			HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: rawPath},
		},
	}
}

func startEvent(body string) events.APIGatewayV2HTTPRequest {
	return apiEvent("POST /renders", body, nil, nil)
}

func progressEvent() events.APIGatewayV2HTTPRequest {
	return apiEvent("GET /renders/{renderId}", "", map[string]string{"renderId": e2eRenderID}, map[string]string{"bucket": e2eBucket})
}

// assertSameJSON compares two JSON documents as values, key order aside.
func assertSameJSON(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	json.Unmarshal(got, &g)
	json.Unmarshal(want, &w)
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("payload differs from Remotion's:\n got %s\nwant %s", gb, wb)
	}
}

func errorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// untracked runs the bootstrap of a deployment without records under the
// emulator, with its own stand-in answering as replies says.
func untracked(t *testing.T) (*emulator, *standin.Server, *script) {
	t.Helper()
	buildBinaries(t)
	replies := &script{}
	srv := standin.Start(replies.respond)
	t.Cleanup(srv.Close)
	srv.AddBucket(e2eBucket, standin.Region)
	return startEmulator(t, srv), srv, replies
}

func TestBootstrapStartsARenderWithRemotionsOwnPayload(t *testing.T) {
	emu, srv, replies := untracked(t)
	replies.set(standin.Started(e2eBucket, e2eRenderID))

	resp, body := emu.invoke(t, startEvent(`{"composition":"MyComp","codec":"h264","inputProps":{"title":"Hello","n":1}}`))

	if resp.StatusCode != http.StatusAccepted || body["renderId"] != e2eRenderID || body["bucketName"] != e2eBucket {
		t.Fatalf("got %d %v", resp.StatusCode, body)
	}
	inv := srv.Invocations()
	if len(inv) != 1 || inv[0].FunctionName != e2eFunctionName {
		t.Fatalf("invocations: %+v", inv)
	}
	assertSameJSON(t, inv[0].Payload, vectors.Read(t, "start-default.json"))
}

func TestBootstrapReportsProgress(t *testing.T) {
	for _, tt := range []struct {
		vector, state string
	}{
		{"progress-inProgress.json", "rendering"},
		{"progress-done.json", "done"},
		{"progress-fatal.json", "failed"},
	} {
		t.Run(tt.state, func(t *testing.T) {
			emu, srv, replies := untracked(t)
			replies.set(standin.Reply{Body: vectors.Read(t, tt.vector)})

			resp, body := emu.invoke(t, progressEvent())

			if resp.StatusCode != http.StatusOK || body["state"] != tt.state {
				t.Fatalf("got %d %v, want 200 %s", resp.StatusCode, body, tt.state)
			}
			assertSameJSON(t, srv.Invocations()[0].Payload, vectors.Read(t, "status.json"))
		})
	}
}

func TestBootstrapAnswersRemotionsRefusals(t *testing.T) {
	for _, tt := range []struct {
		name   string
		reply  standin.Reply
		status int
		code   string
	}{
		{"version mismatch", standin.Reply{Body: map[string]string{"type": "error", "message": "Version mismatch: the function has version 4.0.526"}}, 502, "version_mismatch"},
		{"render function missing", standin.FunctionNotFound, 502, "render_function_not_found"},
		{"access denied", standin.AccessDenied, 502, "access_denied"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			emu, _, replies := untracked(t)
			replies.set(tt.reply)

			resp, body := emu.invoke(t, startEvent(`{"composition":"MyComp"}`))

			if resp.StatusCode != tt.status || errorCode(body) != tt.code {
				t.Errorf("got %d %v, want %d %s", resp.StatusCode, body, tt.status, tt.code)
			}
		})
	}
}

// Lambda's 500 does not say the render did not start: the start is not
// sent again, and the caller is told its outcome is unknown.
func TestBootstrapSendsAStartAnswered500Once(t *testing.T) {
	emu, srv, replies := untracked(t)
	replies.set(standin.ServiceError, standin.Started(e2eBucket, e2eRenderID))

	resp, body := emu.invoke(t, startEvent(`{"composition":"MyComp"}`))

	if resp.StatusCode != http.StatusBadGateway || errorCode(body) != "start_outcome_unknown" {
		t.Errorf("got %d %v, want 502 start_outcome_unknown", resp.StatusCode, body)
	}
	if n := len(srv.Invocations()); n != 1 {
		t.Errorf("the render function was invoked %d times, want once", n)
	}
}

func TestBootstrapRefusesAMalformedRequest(t *testing.T) {
	emu, srv, _ := untracked(t)

	resp, body := emu.invoke(t, startEvent(`{"composition":`))

	if resp.StatusCode != http.StatusBadRequest || errorCode(body) != "malformed_json" {
		t.Errorf("got %d %v", resp.StatusCode, body)
	}
	if len(srv.Invocations()) != 0 {
		t.Error("a malformed request reached the render function")
	}
}

func TestBootstrapSendsLargeInputPropsThroughS3(t *testing.T) {
	emu, srv, replies := untracked(t)
	replies.set(standin.Started(e2eBucket, e2eRenderID))
	props := `{"text":"` + strings.Repeat("x", remotion.MaxInlinePayloadSize) + `"}`

	resp, _ := emu.invoke(t, startEvent(`{"composition":"MyComp","inputProps":`+props+`}`))

	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var p struct {
		InputProps struct{ Type, Hash, BucketName string }
	}
	json.Unmarshal(srv.Invocations()[0].Payload, &p)
	stored, ok := srv.Object(e2eBucket, remotion.InputPropsKey(p.InputProps.Hash))
	if p.InputProps.Type != "bucket-url" || p.InputProps.BucketName != e2eBucket || !ok || string(stored) != props {
		t.Errorf("inputProps %+v; stored: %v", p.InputProps, ok)
	}
}

// The function answers before its own deadline, so Lambda does not kill it
// mid-request.
func TestBootstrapAnswersASlowRenderFunctionBeforeItsDeadline(t *testing.T) {
	emu, _, replies := untracked(t)
	replies.set(standin.Reply{Body: standin.Started(e2eBucket, e2eRenderID).Body, Delay: time.Minute})
	begin := time.Now()

	resp, body := emu.invoke(t, startEvent(`{"composition":"MyComp"}`))

	if resp.StatusCode != http.StatusGatewayTimeout || errorCode(body) != "start_outcome_unknown" {
		t.Errorf("got %d %v, want 504 start_outcome_unknown", resp.StatusCode, body)
	}
	if took := time.Since(begin); took >= e2eTimeout {
		t.Errorf("the answer took %v, not less than the function's %v timeout", took, e2eTimeout)
	}
}

func TestBootstrapLogsOneJSONLinePerRequest(t *testing.T) {
	emu, _, replies := untracked(t)
	replies.set(standin.Started(e2eBucket, e2eRenderID))
	emu.invoke(t, startEvent(`{"composition":"MyComp"}`))
	emu.invoke(t, startEvent(`{"composition":`))

	// The emulator passes the function's output on as it comes: wait for it.
	var lines []map[string]any
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		lines = lines[:0]
		for _, l := range strings.Split(emu.logs.String(), "\n") {
			var entry map[string]any
			if json.Unmarshal([]byte(l), &entry) == nil && entry["msg"] == "request" {
				lines = append(lines, entry)
				if id, _ := entry[logs.RequestIDKey].(string); id == "" {
					t.Errorf("log line without Lambda's request ID: %s", l)
				}
			}
		}
		if len(lines) >= 2 || time.Now().After(deadline) {
			break
		}
	}
	if len(lines) != 2 {
		t.Fatalf("%d request log lines for 2 requests:\n%s", len(lines), emu.logs)
	}
	for _, entry := range lines {
		if entry["route"] != "POST /renders" || entry["status"] == nil {
			t.Errorf("log line %v, want its route and status", entry)
		}
	}
}

// AWS_LAMBDA_LOG_LEVEL, as Lambda sets it from the application log level,
// drops the lines below it: at WARN a request that succeeds writes nothing,
// one that fails writes its ERROR line.
func TestBootstrapHonoursLambdasLogLevel(t *testing.T) {
	buildBinaries(t)
	replies := &script{}
	srv := standin.Start(replies.respond)
	t.Cleanup(srv.Close)
	srv.AddBucket(e2eBucket, standin.Region)
	emu := startEmulator(t, srv, logs.LevelVariable+"=WARN")

	replies.set(standin.Started(e2eBucket, e2eRenderID))
	if resp, body := emu.invoke(t, startEvent(`{"composition":"MyComp"}`)); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("got %d %v", resp.StatusCode, body)
	}
	replies.set(standin.AccessDenied)
	if resp, body := emu.invoke(t, startEvent(`{"composition":"MyComp"}`)); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("got %d %v", resp.StatusCode, body)
	}

	// The emulator passes the lines on as they come: the failure's is the
	// last, so the success's, had it been written, is in by then.
	var levels []any
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		levels = nil
		for _, l := range strings.Split(emu.logs.String(), "\n") {
			var entry map[string]any
			if json.Unmarshal([]byte(l), &entry) == nil && entry["msg"] == "request" {
				levels = append(levels, entry["level"])
			}
		}
		if slices.Contains(levels, any("ERROR")) || time.Now().After(deadline) {
			break
		}
	}
	if len(levels) != 1 || levels[0] != "ERROR" {
		t.Errorf("at WARN the request lines have the levels %v, want only the failure's ERROR:\n%s", levels, emu.logs)
	}
}

func TestBootstrapWithoutConfigurationExplainsItself(t *testing.T) {
	buildBinaries(t)
	srv := standin.Start(func(standin.Invocation) standin.Reply { return standin.Reply{} })
	t.Cleanup(srv.Close)
	emu := startEmulator(t, srv, "REMOTION_FUNCTION_NAME=")

	resp, body := emu.invoke(t, startEvent(`{"composition":"MyComp"}`))

	e, _ := body["error"].(map[string]any)
	if resp.StatusCode != 500 || e["code"] != "configuration_error" || !strings.Contains(fmt.Sprint(e["message"]), "REMOTION_FUNCTION_NAME") {
		t.Errorf("got %d %v", resp.StatusCode, body)
	}
}

// BenchmarkColdStart measures, per iteration, a new emulator and bootstrap
// from process start to the first answered invocation. That first request
// is either a start, which does what a start does (with records: read the
// webhook secret, invoke, write the record), or one the function answers
// without calling anything (a malformed render ID), so that the start-up
// itself is measured apart from the first request's calls.
//
// Run in a checkout of an older version, the same test binary builds and
// measures that version's bootstrap (which ignores the records variables),
// so that two versions are compared with one harness.
func BenchmarkColdStart(b *testing.B) {
	buildBinaries(b)
	firsts := []struct {
		name   string
		event  events.APIGatewayV2HTTPRequest
		status int
	}{
		{"start", webhookedStart(), http.StatusAccepted},
		{"answered-locally", apiEvent("GET /renders/{renderId}", "", map[string]string{"renderId": "NOT-AN-ID"}, nil), http.StatusBadRequest},
	}
	for _, records := range []bool{false, true} {
		for _, first := range firsts {
			b.Run(recordsName(records)+"/"+first.name, func(b *testing.B) {
				srv := standin.Start(standin.NewRenders(e2eBucket))
				defer srv.Close()
				vars := recordsEnv(b, srv, records)
				var samples []time.Duration
				for b.Loop() {
					begin := time.Now()
					emu := startEmulator(b, srv, vars...)
					if resp, _ := emu.invoke(b, first.event); resp.StatusCode != first.status {
						b.Fatalf("status %d, want %d", resp.StatusCode, first.status)
					}
					samples = append(samples, time.Since(begin))
					emu.stop()
				}
				reportPercentiles(b, samples)
			})
		}
	}
}

// BenchmarkWarmInvoke measures requests to a warm function through the
// emulator against the stand-in, and the bootstrap's peak memory.
func BenchmarkWarmInvoke(b *testing.B) {
	buildBinaries(b)
	for _, records := range []bool{false, true} {
		b.Run(recordsName(records), func(b *testing.B) {
			srv := standin.Start(standin.NewRenders(e2eBucket))
			defer srv.Close()
			emu := startEmulator(b, srv, recordsEnv(b, srv, records)...)
			event := webhookedStart()
			emu.invoke(b, event) // initialize
			var samples []time.Duration
			for b.Loop() {
				begin := time.Now()
				if resp, _ := emu.invoke(b, event); resp.StatusCode != http.StatusAccepted {
					b.Fatalf("status %d", resp.StatusCode)
				}
				samples = append(samples, time.Since(begin))
			}
			reportPercentiles(b, samples)
			if pid, ok := emu.bootstrapPID(); ok {
				if kb, ok := vmHWM(pid); ok {
					b.ReportMetric(float64(kb)/1024, "peak-RSS-MiB")
				}
			}
		})
	}
}

func recordsName(records bool) string {
	if records {
		return "records"
	}
	return "untracked"
}

// recordsEnv gives the function what a deployment with render tracking
// has: a table of dynalite's, the webhook secret and the bus, or none.
func recordsEnv(b *testing.B, srv *standin.Server, records bool) []string {
	if !records {
		return nil
	}
	db := dynalite.Shared(b)
	srv.SetSecret("webhook", "bench-secret")
	return trackingEnv(db, db.NewRenderTable(b), srv, "webhook")
}

// The endpoints of the services the function calls, as the AWS SDK reads
// them from the environment.
const (
	endpointDynamoDB       = "AWS_ENDPOINT_URL_DYNAMODB"
	endpointSecretsManager = "AWS_ENDPOINT_URL_SECRETS_MANAGER"
	endpointEventBridge    = "AWS_ENDPOINT_URL_EVENTBRIDGE"
)

// trackingEnv is the environment of a deployment with render tracking: the
// table on db, and the webhook secret secretID and the bus on srv.
func trackingEnv(db *dynalite.Server, table string, srv *standin.Server, secretID string) []string {
	return []string{env.RenderTable + "=" + table, endpointDynamoDB + "=" + db.URL,
		env.WebhookSecretARN + "=" + secretID, endpointSecretsManager + "=" + srv.URL(), endpointEventBridge + "=" + srv.URL()}
}

func reportPercentiles(b *testing.B, samples []time.Duration) {
	if len(samples) == 0 {
		return
	}
	slices.Sort(samples)
	at := func(q float64) float64 {
		return float64(samples[int(q*float64(len(samples)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.5), "p50-ms")
	b.ReportMetric(at(0.95), "p95-ms")
}

// vmHWM reads a process's peak resident set size, in KiB.
func vmHWM(pid int) (int, bool) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return kb, err == nil
		}
	}
	return 0, false
}

// With a render table, through the real bootstrap: a start is recorded, a
// retry with its Idempotency-Key starts nothing, and a finished render is
// answered from its record.
func TestBootstrapKeepsRecordsInTheTable(t *testing.T) {
	buildBinaries(t)
	db := dynalite.Shared(t)
	tableName := db.NewRenderTable(t)
	srv := standin.Start(func(inv standin.Invocation) standin.Reply {
		if strings.Contains(string(inv.Payload), `"type":"start"`) {
			return standin.Started(e2eBucket, e2eRenderID)
		}
		return standin.Reply{Body: vectors.Read(t, "progress-done.json")}
	})
	t.Cleanup(srv.Close)
	emu := startEmulator(t, srv, env.RenderTable+"="+tableName, endpointDynamoDB+"="+db.URL)
	start := startEvent(`{"composition":"MyComp"}`)
	start.Headers["idempotency-key"] = "order-42"
	start.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:iam::123456789012:user/alice"},
	}

	first, body := emu.invoke(t, start)
	again, _ := emu.invoke(t, start)

	if first.StatusCode != http.StatusAccepted || again.StatusCode != http.StatusAccepted || again.Body != first.Body || again.Headers["Idempotency-Replayed"] != "true" {
		t.Fatalf("start %d %v, retry %d %s %v", first.StatusCode, body, again.StatusCode, again.Body, again.Headers)
	}
	if n := len(srv.Invocations()); n != 1 {
		t.Errorf("%d invocations after a start and its retry, want 1", n)
	}

	poll := apiEvent("GET /renders/{renderId}", "", map[string]string{"renderId": body["renderId"].(string)}, nil)
	poll.RequestContext.Authorizer = start.RequestContext.Authorizer
	done, progress := emu.invoke(t, poll)
	calls := len(srv.Invocations())
	_, fromRecord := emu.invoke(t, poll)

	if done.StatusCode != http.StatusOK || progress["state"] != "done" || fromRecord["state"] != "done" {
		t.Errorf("polls: %d %v, then %v", done.StatusCode, progress, fromRecord)
	}
	if n := len(srv.Invocations()); n != calls {
		t.Error("polling a finished render invoked the render function")
	}

	list := apiEvent("GET /renders", "", nil, nil)
	list.RequestContext.Authorizer = start.RequestContext.Authorizer
	if resp, renders := emu.invoke(t, list); resp.StatusCode != http.StatusOK || fmt.Sprint(renders["renders"]) == "[]" {
		t.Errorf("GET /renders: %d %v", resp.StatusCode, renders)
	}
}

// Remotion's completion webhook, through the real bootstrap: the start asks
// for it, the receiver verifies it, finishes the record once and puts one
// event on the bus; a forged one changes nothing.
func TestBootstrapReceivesRemotionsWebhook(t *testing.T) {
	buildBinaries(t)
	vectors := vectors.ReadWebhooks(t)
	db := dynalite.Shared(t)
	srv := standin.Start(func(inv standin.Invocation) standin.Reply {
		return standin.Started(e2eBucket, e2eRenderID)
	})
	t.Cleanup(srv.Close)
	const secretARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook-AbCdEf"
	srv.SetSecret(secretARN, vectors.Secret)
	emu := startEmulator(t, srv, trackingEnv(db, db.NewRenderTable(t), srv, secretARN)...)

	// The secret is read on first use, not at start-up.
	if resp, body := emu.invoke(t, apiEvent("GET /renders", "", nil, nil)); resp.StatusCode != http.StatusOK {
		t.Fatalf("list: %d %v", resp.StatusCode, body)
	}
	if n := srv.SecretReads(); n != 0 {
		t.Errorf("the secret was read %d times before a request needed it", n)
	}
	start := startEvent(`{"composition":"MyComp"}`)
	start.RequestContext.DomainName, start.RequestContext.Stage = "abc123.execute-api.us-east-1.amazonaws.com", "$default"
	if resp, body := emu.invoke(t, start); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("start: %d %v", resp.StatusCode, body)
	}
	if n := srv.SecretReads(); n != 1 {
		t.Errorf("the secret was read %d times by the first start, want once", n)
	}
	var payload struct {
		Webhook struct {
			URL, Secret string
			CustomData  struct{ RenderID string }
		}
	}
	json.Unmarshal(srv.Invocations()[0].Payload, &payload)
	if payload.Webhook.URL != "https://abc123.execute-api.us-east-1.amazonaws.com/webhooks/remotion" || payload.Webhook.Secret != vectors.Secret {
		t.Errorf("the start's webhook: %+v", payload.Webhook)
	}

	deliver := func(body, signature string) (events.APIGatewayV2HTTPResponse, map[string]any) {
		ev := apiEvent("POST /webhooks/remotion", body, nil, nil)
		ev.Headers["x-remotion-signature"], ev.Headers["x-remotion-mode"] = signature, "production"
		return emu.invoke(t, ev)
	}
	renderID := payload.Webhook.CustomData.RenderID
	success, signature := signedWebhook(t, vectors, "success", renderID)
	first, _ := deliver(success, signature)
	again, repeat := deliver(success, signature)
	forged, _ := deliver(strings.Replace(success, "out.mp4", "evil.mp4", 1), signature)

	if first.StatusCode != http.StatusOK || again.StatusCode != http.StatusOK || repeat["duplicate"] != true || forged.StatusCode != http.StatusUnauthorized {
		t.Errorf("deliveries: %d, %d %v, forged %d", first.StatusCode, again.StatusCode, repeat, forged.StatusCode)
	}
	if evs := srv.Events(); len(evs) != 1 || evs[0].DetailType != "Render Succeeded" || !strings.Contains(evs[0].Detail, `"composition":"MyComp"`) {
		t.Errorf("events: %+v", evs)
	}
	calls := len(srv.Invocations())
	poll, progress := emu.invoke(t, apiEvent("GET /renders/{renderId}", "", map[string]string{"renderId": renderID}, nil))
	if poll.StatusCode != http.StatusOK || progress["state"] != "done" || !strings.HasSuffix(fmt.Sprint(progress["outputFile"]), "/out.mp4") || len(srv.Invocations()) != calls {
		t.Errorf("poll after the webhook: %d %v (%d invocations, want %d)", poll.StatusCode, progress, len(srv.Invocations()), calls)
	}
}

// signedWebhook is one of Remotion's recorded webhooks about the render
// renderID: its custom data is what the render's start gave Remotion, and
// it is signed with the vectors' secret, as Remotion signs.
func signedWebhook(tb testing.TB, v vectors.Webhooks, name, renderID string) (body, signature string) {
	tb.Helper()
	var fields map[string]any
	if err := json.Unmarshal([]byte(v.Vectors[name].Body), &fields); err != nil {
		tb.Fatal(err)
	}
	fields["customData"] = map[string]string{"renderId": renderID}
	b, _ := json.Marshal(fields)
	mac := hmac.New(sha512.New, []byte(v.Secret))
	mac.Write(b)
	return string(b), "sha512=" + hex.EncodeToString(mac.Sum(nil))
}

// BenchmarkWarmWebhook measures a verified webhook through the emulator:
// verify, finish the record, publish the event, answer.
func BenchmarkWarmWebhook(b *testing.B) {
	buildBinaries(b)
	vectors := vectors.ReadWebhooks(b)
	db := dynalite.Shared(b)
	table := db.NewRenderTable(b)
	srv := standin.Start(standin.NewRenders(e2eBucket))
	defer srv.Close()
	srv.SetSecret("webhook", vectors.Secret)
	emu := startEmulator(b, srv, trackingEnv(db, table, srv, "webhook")...)
	var samples []time.Duration
	for b.Loop() {
		b.StopTimer()
		_, started := emu.invoke(b, webhookedStart())
		body, signature := signedWebhook(b, vectors, "success", started["renderId"].(string))
		ev := apiEvent("POST /webhooks/remotion", body, nil, nil)
		ev.Headers["x-remotion-signature"] = signature
		b.StartTimer()
		begin := time.Now()
		if resp, out := emu.invoke(b, ev); resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d %v", resp.StatusCode, out)
		}
		samples = append(samples, time.Since(begin))
	}
	reportPercentiles(b, samples)
}

// One start, one charge, through the real bootstrap: a start whose answer
// does not prove that nothing ran (Remotion's function crashed, or replied
// with something that is not JSON) is not sent again, not even by a retry
// with the same Idempotency-Key and Remotion healthy again, and its record
// says its outcome is unknown.
func TestBootstrapNeverStartsAnUnknownOutcomeTwice(t *testing.T) {
	for name, failure := range map[string]standin.Reply{
		"a function error":         {FunctionError: "Unhandled", Body: map[string]string{"errorType": "Runtime.ExitError", "errorMessage": "signal: killed"}},
		"a reply that is not JSON": {Body: "<html>"},
	} {
		t.Run(name, func(t *testing.T) {
			buildBinaries(t)
			db := dynalite.Shared(t)
			replies := &script{}
			srv := standin.Start(replies.respond)
			t.Cleanup(srv.Close)
			emu := startEmulator(t, srv, env.RenderTable+"="+db.NewRenderTable(t), endpointDynamoDB+"="+db.URL)
			replies.set(failure, standin.Started(e2eBucket, e2eRenderID))
			start := startEvent(`{"composition":"MyComp"}`)
			start.Headers["idempotency-key"] = "order-42"

			first, body := emu.invoke(t, start)
			again, retried := emu.invoke(t, start)

			if first.StatusCode != http.StatusBadGateway || errorCode(body) != "start_outcome_unknown" {
				t.Errorf("the start: %d %v, want 502 start_outcome_unknown", first.StatusCode, body)
			}
			if again.StatusCode != http.StatusConflict || errorCode(retried) != "start_outcome_unknown" {
				t.Errorf("its retry: %d %v, want 409 start_outcome_unknown", again.StatusCode, retried)
			}
			if n := len(srv.Invocations()); n != 1 {
				t.Errorf("%d invocations of Remotion's function, want 1", n)
			}
			id, _ := body["error"].(map[string]any)["renderId"].(string)
			if resp, record := emu.invoke(t, apiEvent("GET /renders/{renderId}", "", map[string]string{"renderId": id}, nil)); resp.StatusCode != http.StatusOK || record["state"] != "unknown" {
				t.Errorf("the record of %q: %d %v, want its state unknown", id, resp.StatusCode, record)
			}
		})
	}
}

// webhookedStart is a start as API Gateway sends it, with the domain a
// webhook URL is built from.
func webhookedStart() events.APIGatewayV2HTTPRequest {
	ev := startEvent(`{"composition":"MyComp","inputProps":{"title":"Hello","n":1}}`)
	ev.RequestContext.DomainName, ev.RequestContext.Stage = "abc123.execute-api.us-east-1.amazonaws.com", "$default"
	return ev
}

// Through the real bootstrap of the default stack (records, webhooks): a
// render is its starter's. Another caller is told it does not exist, in the
// answer a missing ID gets; an operator's route reads it.
func TestBootstrapShowsEachCallerOnlyTheirOwnRenders(t *testing.T) {
	buildBinaries(t)
	db := dynalite.Shared(t)
	srv := standin.Start(standin.NewRenders(e2eBucket))
	t.Cleanup(srv.Close)
	srv.SetSecret("webhook", "e2e-secret")
	emu := startEmulator(t, srv, trackingEnv(db, db.NewRenderTable(t), srv, "webhook")...)
	as := func(arn string, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: arn},
		}
		return ev
	}
	const alice, bob = "arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/bob"
	_, started := emu.invoke(t, as(alice, webhookedStart()))
	id, _ := started["renderId"].(string)
	read := func(arn, route, id string) (events.APIGatewayV2HTTPResponse, map[string]any) {
		return emu.invoke(t, as(arn, apiEvent(route, "", map[string]string{"renderId": id}, nil)))
	}

	own, _ := read(alice, "GET /renders/{renderId}", id)
	others, _ := read(bob, "GET /renders/{renderId}", id)
	missing, _ := read(bob, "GET /renders/{renderId}", "nosuchrender0000000000000a")
	operator, _ := read(bob, "GET /renders/all/{renderId}", id)

	if id == "" || own.StatusCode != http.StatusOK {
		t.Errorf("the owner: %d (render %q)", own.StatusCode, id)
	}
	if others.StatusCode != http.StatusNotFound || others.Body != missing.Body {
		t.Errorf("another caller: %d %s; a missing ID: %d %s", others.StatusCode, others.Body, missing.StatusCode, missing.Body)
	}
	if operator.StatusCode != http.StatusOK {
		t.Errorf("the operators' route: %d %s", operator.StatusCode, operator.Body)
	}
}

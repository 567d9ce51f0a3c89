package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

const (
	testRenderID = "abcdef1234"
	testBucket   = "remotionlambda-useast1-abcdefghij"
)

// fakeAPI stands in for the deployed API: it refuses requests without a
// SigV4 signature for execute-api, and serves scripted progress.
type fakeAPI struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	bodies   [][]byte
	gets     int
	progress []string // answers to successive GETs; the last repeats
	start    func(w http.ResponseWriter)
}

var authPattern = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=AKIDTEST/\d{8}/us-east-1/execute-api/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$`)

func newFakeAPI(t *testing.T, progress ...string) *fakeAPI {
	f := &fakeAPI{t: t, progress: progress}
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
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/renders":
		body, _ := io.ReadAll(r.Body)
		f.bodies = append(f.bodies, body)
		if f.start != nil {
			f.start(w)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"renderId":%q,"bucketName":%q,"state":"rendering","progressUrl":"/renders/%s?bucket=%s"}`, testRenderID, testBucket, testRenderID, testBucket)
	case r.Method == http.MethodGet && r.URL.Path == "/renders/"+testRenderID && r.URL.Query().Get("bucket") == testBucket:
		i := min(f.gets, len(f.progress)-1)
		f.gets++
		io.WriteString(w, f.progress[i])
	default:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error":{"code":"not_found","message":"no such route"}}`)
	}
}

func progressJSON(state string, progress float64, extra string) string {
	return fmt.Sprintf(`{"renderId":%q,"state":%q,"overallProgress":%v,"framesRendered":%d,"costs":{"displayCost":"$0.001"},"errors":[]%s}`,
		testRenderID, state, progress, int(progress*40), extra)
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
	api := newFakeAPI(t,
		progressJSON("rendering", 0, ""),
		progressJSON("rendering", 0.625, ""),
		progressJSON("done", 1, `,"outputFile":"https://s3.us-east-1.amazonaws.com/b/renders/abcdef1234/out.mp4"`))
	props := filepath.Join(t.TempDir(), "props.json")
	os.WriteFile(props, []byte(`{"title":"Hello","n":1}`), 0o644)

	code, stdout, stderr := runCLI(t, "", "-api", api.srv.URL, "-composition", "MyComp", "-props", props,
		"-codec", "vp9", "-option", "crf=20", "-option", "frameRange=[0,39]", "-option", "colorSpace=bt709", "-interval", "1ms")

	if code != exitDone {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if stdout != "https://s3.us-east-1.amazonaws.com/b/renders/abcdef1234/out.mp4\n" {
		t.Errorf("stdout = %q, want the output URL alone", stdout)
	}
	for _, want := range []string{"rendering   0%", "rendering  62%", "done 100%  40 frames  $0.001", "render progress abcdef1234 " + testBucket} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	var body map[string]any
	if err := json.Unmarshal(api.bodies[0], &body); err != nil {
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

func TestNoWaitPrintsWhatProgressNeeds(t *testing.T) {
	withCredentials(t)
	api := newFakeAPI(t, progressJSON("rendering", 0, ""))

	code, stdout, _ := runCLI(t, `{"title":"from stdin"}`, "-api", api.srv.URL, "-composition", "MyComp", "-props", "-", "-no-wait")

	if code != exitDone || stdout != testRenderID+" "+testBucket+"\n" {
		t.Errorf("exit %d, stdout %q; want 0 and %q", code, stdout, testRenderID+" "+testBucket)
	}
	if api.gets != 0 {
		t.Error("-no-wait polled the progress")
	}
	if !strings.Contains(string(api.bodies[0]), `"inputProps":{"title":"from stdin"}`) {
		t.Errorf("props from standard input not sent: %s", api.bodies[0])
	}
}

func TestProgressResumesAndReportsAFailedRender(t *testing.T) {
	withCredentials(t)
	api := newFakeAPI(t,
		progressJSON("rendering", 0.1, ""),
		progressJSON("failed", 0.1, `,"errors":[{"message":"Could not find composition with ID MyCompX","fatal":true}]`))

	code, stdout, stderr := runCLI(t, "", "progress", testRenderID, testBucket, "-api", api.srv.URL, "-interval", "1ms")

	if code != exitRenderFail {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitRenderFail, stderr)
	}
	if stdout != "" || !strings.Contains(stderr, "Could not find composition with ID MyCompX") {
		t.Errorf("stdout %q, stderr:\n%s", stdout, stderr)
	}
	if len(api.bodies) != 0 {
		t.Error("progress started a render")
	}
}

func TestAPIErrorsAreShownWithTheirCode(t *testing.T) {
	withCredentials(t)
	api := newFakeAPI(t)
	api.start = func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":{"code":"invalid_value","field":"crf","message":"crf must be between 1 and 51"}}`)
	}

	code, _, stderr := runCLI(t, "", "-api", api.srv.URL, "-composition", "MyComp", "-option", "crf=70")

	if code != exitAPIError || !strings.Contains(stderr, "400 invalid_value: crf must be between 1 and 51 (field crf)") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}

func TestUnsignedRequestsAreRefusedByTheStandIn(t *testing.T) {
	api := newFakeAPI(t, progressJSON("done", 1, ""))

	resp, err := http.Post(api.srv.URL+"/renders", "application/json", strings.NewReader(`{"composition":"C"}`))
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
	api := newFakeAPI(t, progressJSON("rendering", 0.5, ""))

	code, _, stderr := runCLI(t, "", "progress", testRenderID, testBucket, "-api", api.srv.URL, "-interval", "5ms", "-timeout", "50ms")

	if code != exitWatchTimeout || !strings.Contains(stderr, "resume with: render progress "+testRenderID) {
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
		{"progress without bucket", []string{"progress", testRenderID}, "RENDER_ID and BUCKET"},
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
	api := newFakeAPI(t, progressJSON("done", 1, `,"output":{"s3Uri":"s3://my-renders/renders/x.mp4","url":"https://x"}`))
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
</member></Stacks></DescribeStacksResult></DescribeStacksResponse>`, api.srv.URL)
	}))
	t.Cleanup(cfn.Close)
	t.Setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", cfn.URL)

	code, stdout, stderr := runCLI(t, "", "-stack", "RendersProd", "-composition", "MyComp", "-interval", "1ms")

	if code != exitDone || stdout != "s3://my-renders/renders/x.mp4\n" {
		t.Errorf("exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
}

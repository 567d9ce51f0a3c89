package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"remotion-lambda-iam/contract/metrics"
	"remotion-lambda-iam/contract/renderapi"
	"remotion-lambda-iam/internal/standin"
	"remotion-lambda-iam/internal/vectors"
	"remotion-lambda-iam/lambda/api"
	"remotion-lambda-iam/lambda/env"
	"remotion-lambda-iam/lambda/lifecycle"
	"remotion-lambda-iam/lambda/logs"
	"remotion-lambda-iam/lambda/remotion"
)

const (
	functionName = "remotion-render-4-0-527-mem2048mb-disk2048mb-120sec"
	serveURL     = "https://remotionlambda-useast1-abcdefghij.s3.us-east-1.amazonaws.com/sites/my-site/index.html"
	bucket       = "remotionlambda-useast1-abcdefghij"
	renderID     = "abcdef1234"
)

var started = standin.Started(bucket, renderID)

type fixture struct {
	h       *api.Handler
	renders *lifecycle.Service
	srv     *standin.Server
	logs    *bytes.Buffer
}

// newFixture wires a Handler that keeps no records to the real Remotion
// client, which talks to a stand-in for the Lambda Invoke API answering
// with respond.
func newFixture(t testing.TB, cfg api.Config, respond func(standin.Invocation) standin.Reply) *fixture {
	t.Helper()
	return build(t, cfg, nil, respond)
}

// build is newFixture with what the deployment keeps: keep, given the
// stand-in, says it.
func build(t testing.TB, cfg api.Config, keep func(*standin.Server) lifecycle.Config, respond func(standin.Invocation) standin.Reply) *fixture {
	t.Helper()
	srv := standin.Start(respond)
	t.Cleanup(srv.Close)
	client, err := remotion.New(srv.AWSConfig(), remotion.Config{FunctionName: functionName, Region: standin.Region})
	if err != nil {
		t.Fatal(err)
	}
	var lc lifecycle.Config
	if keep != nil {
		lc = keep(srv)
	}
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	renders := lifecycle.New(client, lc, log)
	h, err := api.New(renders, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{h: h, renders: renders, srv: srv, logs: logs}
}

func post(body string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{
		RouteKey: renderapi.RouteStart.Key(),
		RawPath:  "/renders",
		Headers:  map[string]string{"content-type": "application/json"},
		Body:     body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "req-1",
			HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: http.MethodPost, Path: "/renders"},
		},
	}
}

func get(id string, query map[string]string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{
		RouteKey:              renderapi.RouteProgress.Key(),
		RawPath:               "/renders/" + id,
		PathParameters:        map[string]string{"renderId": id},
		QueryStringParameters: query,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "req-2",
			HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: http.MethodGet, Path: "/renders/" + id},
		},
	}
}

func (f *fixture) do(t testing.TB, req events.APIGatewayV2HTTPRequest) (int, map[string]any) {
	t.Helper()
	return f.doCtx(t, context.Background(), req)
}

func (f *fixture) doCtx(t testing.TB, ctx context.Context, req events.APIGatewayV2HTTPRequest) (int, map[string]any) {
	t.Helper()
	resp, err := f.h.Handle(ctx, req)
	if err != nil {
		t.Fatalf("Handle returned an error: %v", err)
	}
	if ct := resp.Headers["Content-Type"]; ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, resp.Body)
	}
	return resp.StatusCode, body
}

func errorOf(body map[string]any) (code, field, message string) {
	e, _ := body["error"].(map[string]any)
	code, _ = e["code"].(string)
	field, _ = e["field"].(string)
	message, _ = e["message"].(string)
	return
}

func TestStartRenderAnswers202WithWhereToPoll(t *testing.T) {
	f := newFixture(t, api.Config{DefaultServeURL: serveURL}, standin.Always(started))

	status, body := f.do(t, post(`{"composition":"MyComp","inputProps":{"title":"Hello","n":1}}`))

	if status != http.StatusAccepted {
		t.Fatalf("status = %d, want 202: %v", status, body)
	}
	wantURL := "/renders/" + renderID + "?bucket=" + bucket
	if body["renderId"] != renderID || body["bucketName"] != bucket || body["progressUrl"] != wantURL || body["state"] != "rendering" {
		t.Errorf("body = %v", body)
	}
}

// The payload for the inputs behind Remotion's own start-default.json must be
// that file, key for key, after passing through the HTTP API.
func TestStartRenderSendsRemotionsPayload(t *testing.T) {
	f := newFixture(t, api.Config{DefaultServeURL: serveURL}, standin.Always(started))

	f.do(t, post(`{"composition":"MyComp","codec":"h264","inputProps":{"title":"Hello","n":1}}`))

	inv := f.srv.Invocations()
	if len(inv) != 1 {
		t.Fatalf("%d invocations, want 1", len(inv))
	}
	var got, want any
	json.Unmarshal(inv[0].Payload, &got)
	json.Unmarshal(vectors.Read(t, "start-default.json"), &want)
	if !jsonEqual(got, want) {
		t.Errorf("payload differs from start-default.json:\n got %s", inv[0].Payload)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestProgressReportsEachState(t *testing.T) {
	tests := []struct {
		vector, state string
		progress      float64
		hasOutput     bool
		errors        int
	}{
		{"progress-justStarted.json", "rendering", 0, false, 0},
		{"progress-inProgress.json", "rendering", 0.625, false, 0},
		{"progress-done.json", "done", 1, true, 0},
		{"progress-fatal.json", "failed", 0, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.state+" "+tt.vector, func(t *testing.T) {
			f := newFixture(t, api.Config{}, standin.Always(standin.Reply{Body: vectors.Read(t, tt.vector)}))

			status, body := f.do(t, get(renderID, map[string]string{"bucket": bucket}))

			if status != http.StatusOK {
				t.Fatalf("status = %d: %v", status, body)
			}
			if body["state"] != tt.state || body["overallProgress"] != tt.progress {
				t.Errorf("state %v, progress %v; want %s, %v", body["state"], body["overallProgress"], tt.state, tt.progress)
			}
			if (body["outputFile"] != nil) != tt.hasOutput {
				t.Errorf("outputFile = %v, want present: %v", body["outputFile"], tt.hasOutput)
			}
			errs, _ := body["errors"].([]any)
			if len(errs) != tt.errors {
				t.Errorf("errors = %v, want %d", body["errors"], tt.errors)
			}
			if _, ok := body["costs"].(map[string]any)["estimatedCost"]; !ok {
				t.Errorf("costs = %v, want estimatedCost", body["costs"])
			}
		})
	}
}

func TestFatalRenderErrorsAreReportedWithoutStacks(t *testing.T) {
	f := newFixture(t, api.Config{}, standin.Always(standin.Reply{Body: vectors.Read(t, "progress-fatal.json")}))

	_, body := f.do(t, get(renderID, map[string]string{"bucket": bucket}))

	e := body["errors"].([]any)[0].(map[string]any)
	if e["message"] != "Could not find composition with ID MyCompX" || e["fatal"] != true {
		t.Errorf("error = %v", e)
	}
	if _, ok := e["stack"]; ok {
		t.Errorf("error carries a stack: %v", e)
	}
}

func TestBadRequestsNameTheField(t *testing.T) {
	big := `{"composition":"C","inputProps":{"x":"` + strings.Repeat("a", env.DefaultMaxRequestBodyBytes) + `"}}`
	tests := []struct {
		name   string
		req    events.APIGatewayV2HTTPRequest
		status int
		code   string
		field  string
	}{
		// The body itself.
		{"empty body", post(""), 400, "empty_body", ""},
		{"white space body", post("  \n "), 400, "empty_body", ""},
		{"malformed JSON", post(`{"composition":`), 400, "malformed_json", ""},
		{"not JSON", post(`composition=MyComp`), 400, "malformed_json", ""},
		{"trailing data", post(`{"composition":"C"} {}`), 400, "malformed_json", ""},
		{"array body", post(`["C"]`), 400, "wrong_type", ""},
		{"string body", post(`"C"`), 400, "wrong_type", ""},
		{"body too large", post(big), 413, "body_too_large", ""},
		{"bad base64", func() events.APIGatewayV2HTTPRequest { r := post("!!!"); r.IsBase64Encoded = true; return r }(), 400, "malformed_body", ""},
		{"form content type", func() events.APIGatewayV2HTTPRequest {
			r := post(`{"composition":"C"}`)
			r.Headers["content-type"] = "application/x-www-form-urlencoded"
			return r
		}(), 415, "unsupported_media_type", ""},
		{"unknown field", post(`{"composition":"C","colour":"red"}`), 400, "unknown_field", "colour"},
		{"outName is not settable", post(`{"composition":"C","outName":"x.mp4"}`), 400, "unknown_field", "outName"},
		// composition
		{"missing composition", post(`{"codec":"h264"}`), 400, "missing_field", "composition"},
		{"blank composition", post(`{"composition":"  "}`), 400, "missing_field", "composition"},
		{"composition not a string", post(`{"composition":42}`), 400, "wrong_type", "composition"},
		{"composition too long", post(`{"composition":"` + strings.Repeat("c", 300) + `"}`), 400, "invalid_value", "composition"},
		// inputProps
		{"inputProps an array", post(`{"composition":"C","inputProps":[1,2]}`), 400, "invalid_value", "inputProps"},
		{"inputProps a string", post(`{"composition":"C","inputProps":"x"}`), 400, "invalid_value", "inputProps"},
		// codec and formats
		{"unknown codec", post(`{"composition":"C","codec":"h266"}`), 400, "invalid_value", "codec"},
		{"codec not a string", post(`{"composition":"C","codec":1}`), 400, "wrong_type", "codec"},
		{"unknown imageFormat", post(`{"composition":"C","imageFormat":"webp"}`), 400, "invalid_value", "imageFormat"},
		{"imageFormat none for video", post(`{"composition":"C","imageFormat":"none"}`), 400, "invalid_value", "imageFormat"},
		{"unknown pixelFormat", post(`{"composition":"C","pixelFormat":"rgb24"}`), 400, "invalid_value", "pixelFormat"},
		{"transparent pixelFormat with h264", post(`{"composition":"C","pixelFormat":"yuva420p","imageFormat":"png"}`), 400, "invalid_value", "pixelFormat"},
		{"transparent pixelFormat with jpeg", post(`{"composition":"C","codec":"vp9","pixelFormat":"yuva420p"}`), 400, "invalid_value", "pixelFormat"},
		{"proResProfile without prores", post(`{"composition":"C","proResProfile":"hq"}`), 400, "invalid_value", "proResProfile"},
		{"unknown proResProfile", post(`{"composition":"C","codec":"prores","proResProfile":"ultra"}`), 400, "invalid_value", "proResProfile"},
		{"x264Preset with vp8", post(`{"composition":"C","codec":"vp8","x264Preset":"fast"}`), 400, "invalid_value", "x264Preset"},
		{"unknown x264Preset", post(`{"composition":"C","x264Preset":"warp"}`), 400, "invalid_value", "x264Preset"},
		{"unknown colorSpace", post(`{"composition":"C","colorSpace":"srgb"}`), 400, "invalid_value", "colorSpace"},
		{"numberOfGifLoops without gif", post(`{"composition":"C","numberOfGifLoops":2}`), 400, "invalid_value", "numberOfGifLoops"},
		{"negative numberOfGifLoops", post(`{"composition":"C","codec":"gif","numberOfGifLoops":-1}`), 400, "invalid_value", "numberOfGifLoops"},
		// quality
		{"crf out of range for h264", post(`{"composition":"C","crf":52}`), 400, "invalid_value", "crf"},
		{"crf 0 with h264", post(`{"composition":"C","crf":0}`), 400, "invalid_value", "crf"},
		{"crf below vp8's range", post(`{"composition":"C","codec":"vp8","crf":3}`), 400, "invalid_value", "crf"},
		{"crf with prores", post(`{"composition":"C","codec":"prores","crf":10}`), 400, "invalid_value", "crf"},
		{"crf with an audio codec", post(`{"composition":"C","codec":"mp3","crf":10}`), 400, "invalid_value", "crf"},
		{"crf not an integer", post(`{"composition":"C","crf":18.5}`), 400, "wrong_type", "crf"},
		{"crf and videoBitrate", post(`{"composition":"C","crf":18,"videoBitrate":"5M"}`), 400, "invalid_value", "crf"},
		{"jpegQuality over 100", post(`{"composition":"C","jpegQuality":101}`), 400, "invalid_value", "jpegQuality"},
		{"jpegQuality with png", post(`{"composition":"C","imageFormat":"png","jpegQuality":90}`), 400, "invalid_value", "jpegQuality"},
		{"malformed videoBitrate", post(`{"composition":"C","videoBitrate":"fast"}`), 400, "invalid_value", "videoBitrate"},
		{"malformed audioBitrate", post(`{"composition":"C","audioBitrate":"128 kbps"}`), 400, "invalid_value", "audioBitrate"},
		{"encodingMaxRate alone", post(`{"composition":"C","encodingMaxRate":"5M"}`), 400, "invalid_value", "encodingMaxRate"},
		// audio
		{"unknown audioCodec", post(`{"composition":"C","audioCodec":"flac"}`), 400, "invalid_value", "audioCodec"},
		{"opus in h264", post(`{"composition":"C","audioCodec":"opus"}`), 400, "invalid_value", "audioCodec"},
		{"audio in a gif", post(`{"composition":"C","codec":"gif","audioCodec":"aac"}`), 400, "invalid_value", "audioCodec"},
		{"muted audio-only render", post(`{"composition":"C","codec":"wav","imageFormat":"none","muted":true}`), 400, "invalid_value", "muted"},
		{"muted not a boolean", post(`{"composition":"C","muted":"yes"}`), 400, "wrong_type", "muted"},
		// frames
		{"frameRange reversed", post(`{"composition":"C","frameRange":[10,5]}`), 400, "invalid_value", "frameRange"},
		{"frameRange negative", post(`{"composition":"C","frameRange":-1}`), 400, "invalid_value", "frameRange"},
		{"frameRange of three", post(`{"composition":"C","frameRange":[1,2,3]}`), 400, "invalid_value", "frameRange"},
		{"frameRange a string", post(`{"composition":"C","frameRange":"0-10"}`), 400, "invalid_value", "frameRange"},
		{"everyNthFrame zero", post(`{"composition":"C","everyNthFrame":0}`), 400, "invalid_value", "everyNthFrame"},
		{"scale zero", post(`{"composition":"C","scale":0}`), 400, "invalid_value", "scale"},
		{"scale over 16", post(`{"composition":"C","scale":17}`), 400, "invalid_value", "scale"},
		{"scale a string", post(`{"composition":"C","scale":"2x"}`), 400, "wrong_type", "scale"},
		// distribution
		{"framesPerLambda and concurrency", post(`{"composition":"C","framesPerLambda":20,"concurrency":10}`), 400, "invalid_value", "framesPerLambda"},
		{"framesPerLambda below 4", post(`{"composition":"C","framesPerLambda":3}`), 400, "invalid_value", "framesPerLambda"},
		{"concurrency over 200", post(`{"composition":"C","concurrency":201}`), 400, "invalid_value", "concurrency"},
		{"concurrency zero", post(`{"composition":"C","concurrency":0}`), 400, "invalid_value", "concurrency"},
		{"concurrency huge", post(`{"composition":"C","concurrency":1e30}`), 400, "wrong_type", "concurrency"},
		{"negative maxRetries", post(`{"composition":"C","maxRetries":-1}`), 400, "invalid_value", "maxRetries"},
		{"timeout below 7000", post(`{"composition":"C","timeoutInMilliseconds":5000}`), 400, "invalid_value", "timeoutInMilliseconds"},
		{"timeout over 15 minutes", post(`{"composition":"C","timeoutInMilliseconds":900001}`), 400, "invalid_value", "timeoutInMilliseconds"},
		// output
		{"unknown privacy", post(`{"composition":"C","privacy":"secret"}`), 400, "invalid_value", "privacy"},
		{"unknown downloadBehavior", post(`{"composition":"C","downloadBehavior":{"type":"stream"}}`), 400, "invalid_value", "downloadBehavior"},
		{"downloadBehavior fileName with a slash", post(`{"composition":"C","downloadBehavior":{"type":"download","fileName":"../x.mp4"}}`), 400, "invalid_value", "downloadBehavior"},
		{"downloadBehavior unknown key", post(`{"composition":"C","downloadBehavior":{"type":"download","name":"x"}}`), 400, "invalid_value", "downloadBehavior"},
		{"downloadBehavior a string", post(`{"composition":"C","downloadBehavior":"download"}`), 400, "invalid_value", "downloadBehavior"},
		{"metadata not strings", post(`{"composition":"C","metadata":{"n":1}}`), 400, "wrong_type", "metadata"},
		{"unknown deleteAfter", post(`{"composition":"C","deleteAfter":"2-days"}`), 400, "invalid_value", "deleteAfter"},
		{"envVariables not strings", post(`{"composition":"C","envVariables":{"A":true}}`), 400, "wrong_type", "envVariables"},
		{"outputKey without an output bucket", post(`{"composition":"C","outputKey":"a.mp4"}`), 400, "no_output_bucket", "outputKey"},
		// serveUrl
		{"serveUrl off the allow-list", post(`{"composition":"C","serveUrl":"https://example.com/sites/x/index.html"}`), 400, "serve_url_not_allowed", "serveUrl"},
		{"serveUrl over http", post(`{"composition":"C","serveUrl":"http://remotionlambda-a.s3.us-east-1.amazonaws.com/sites/x/index.html"}`), 400, "serve_url_not_allowed", "serveUrl"},
		{"serveUrl with user info", post(`{"composition":"C","serveUrl":"https://remotionlambda-a.s3.x@evil.example/sites/x"}`), 400, "serve_url_not_allowed", "serveUrl"},
		{"serveUrl outside sites", post(`{"composition":"C","serveUrl":"https://remotionlambda-a.s3.us-east-1.amazonaws.com/renders/x"}`), 400, "serve_url_not_allowed", "serveUrl"},
		// progress
		{"render id with a slash", get("abc/def", map[string]string{"bucket": bucket}), 400, "invalid_value", "renderId"},
		{"render id upper case", get("ABCDEF", map[string]string{"bucket": bucket}), 400, "invalid_value", "renderId"},
		{"render id too long", get(strings.Repeat("a", 65), map[string]string{"bucket": bucket}), 400, "invalid_value", "renderId"},
		{"render id non-ASCII", get("abcdéf", map[string]string{"bucket": bucket}), 400, "invalid_value", "renderId"},
		{"no bucket", get(renderID, nil), 400, "missing_field", "bucket"},
		{"someone else's bucket", get(renderID, map[string]string{"bucket": "my-private-bucket"}), 400, "invalid_value", "bucket"},
		{"bucket prefix alone", get(renderID, map[string]string{"bucket": "remotionlambda-"}), 400, "invalid_value", "bucket"},
		{"bucket upper case", get(renderID, map[string]string{"bucket": "remotionlambda-USEAST1-abc"}), 400, "invalid_value", "bucket"},
		{"bucket name too long", get(renderID, map[string]string{"bucket": "remotionlambda-" + strings.Repeat("a", 49)}), 400, "invalid_value", "bucket"},
		// routes
		{"unknown route", events.APIGatewayV2HTTPRequest{RouteKey: "DELETE /renders/{renderId}"}, 404, "not_found", ""},
	}
	f := newFixture(t, api.Config{DefaultServeURL: serveURL}, standin.Always(started))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.srv.Invocations())

			status, body := f.do(t, tt.req)

			code, field, message := errorOf(body)
			if status != tt.status || code != tt.code || field != tt.field {
				t.Errorf("got %d %s field %q (%s); want %d %s field %q", status, code, field, message, tt.status, tt.code, tt.field)
			}
			if message == "" {
				t.Error("no message")
			}
			if after := len(f.srv.Invocations()); after != before {
				t.Errorf("a bad request invoked the render function")
			}
		})
	}
}

func TestServeURLIsRequiredWithoutADefault(t *testing.T) {
	f := newFixture(t, api.Config{}, standin.Always(started))

	status, body := f.do(t, post(`{"composition":"C"}`))

	if code, field, _ := errorOf(body); status != 400 || code != "missing_field" || field != "serveUrl" {
		t.Errorf("got %d %v", status, body)
	}
}

func TestServeURLOnTheAllowListIsRendered(t *testing.T) {
	f := newFixture(t, api.Config{}, standin.Always(started))

	status, _ := f.do(t, post(`{"composition":"C","serveUrl":"`+serveURL+`"}`))

	if status != http.StatusAccepted {
		t.Fatalf("status = %d, want 202", status)
	}
	var p struct{ ServeURL string }
	json.Unmarshal(f.srv.Invocations()[0].Payload, &p)
	if p.ServeURL != serveURL {
		t.Errorf("serveUrl sent = %q, want %q", p.ServeURL, serveURL)
	}
}

func TestBase64BodiesAreDecoded(t *testing.T) {
	f := newFixture(t, api.Config{DefaultServeURL: serveURL}, standin.Always(started))
	req := post(base64.StdEncoding.EncodeToString([]byte(`{"composition":"C"}`)))
	req.IsBase64Encoded = true

	if status, body := f.do(t, req); status != http.StatusAccepted {
		t.Errorf("status = %d: %v", status, body)
	}
}

func TestUpstreamFailuresMapToStatusAndCode(t *testing.T) {
	tests := []struct {
		name   string
		reply  standin.Reply
		status int
		code   string
		// startCode, when set, is the code of a start: Remotion launches a
		// render before it answers, so a start that failed after it was
		// sent may have started it.
		startCode string
	}{
		{"version mismatch", standin.Reply{Body: map[string]string{"type": "error", "message": "Version mismatch: the function has version 4.0.526"}}, 502, "version_mismatch", ""},
		{"function missing", standin.FunctionNotFound, 502, "render_function_not_found", ""},
		{"access denied", standin.AccessDenied, 502, "access_denied", ""},
		{"throttled", standin.Throttled, 429, "throttled", ""},
		{"rejected", standin.Reply{Body: map[string]string{"type": "error", "message": "Bad", "stack": "at x"}}, 502, "render_rejected", "start_outcome_unknown"},
		{"crashed", standin.Reply{FunctionError: "Unhandled", Body: map[string]any{"errorMessage": "boom", "trace": []string{"at y"}}}, 502, "render_function_error", "start_outcome_unknown"},
		{"service error", standin.ServiceError, 502, "upstream_error", "start_outcome_unknown"},
	}
	for _, tt := range tests {
		for _, req := range []events.APIGatewayV2HTTPRequest{post(`{"composition":"C"}`), get(renderID, map[string]string{"bucket": bucket})} {
			t.Run(tt.name+" "+req.RouteKey, func(t *testing.T) {
				f := newFixture(t, api.Config{DefaultServeURL: serveURL}, standin.Always(tt.reply))

				status, body := f.do(t, req)

				code, _, message := errorOf(body)
				want := tt.code
				if req.RouteKey == renderapi.RouteStart.Key() && tt.startCode != "" {
					want = tt.startCode
				}
				if status != tt.status || code != want {
					t.Errorf("got %d %s (%s), want %d %s", status, code, message, tt.status, want)
				}
				if strings.Contains(message, "at x") || strings.Contains(message, "at y") {
					t.Errorf("message leaks a stack: %q", message)
				}
			})
		}
	}
}

func TestSlowRenderFunctionAnswers504BeforeTheFunctionsDeadline(t *testing.T) {
	// A second of margin, as the deployment's two: time enough to answer on
	// a machine busy with other work.
	margin := func(*standin.Server) lifecycle.Config { return lifecycle.Config{DeadlineMargin: time.Second} }
	f := build(t, api.Config{DefaultServeURL: serveURL}, margin, standin.Always(standin.Reply{Body: started.Body, Delay: 10 * time.Second}))
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()

	status, body := f.doCtx(t, ctx, post(`{"composition":"C"}`))

	if code, _, message := errorOf(body); status != http.StatusGatewayTimeout || code != "start_outcome_unknown" || !strings.Contains(message, "may have started") {
		t.Errorf("got %d %v, want 504 start_outcome_unknown", status, body)
	}
	if n := len(f.srv.Invocations()); n != 1 {
		t.Errorf("%d invocations, want 1", n)
	}
	if ctx.Err() != nil {
		t.Error("the answer came after the function's own deadline")
	}
}

func TestEachRequestIsLoggedOnceWithoutItsBody(t *testing.T) {
	f := newFixture(t, api.Config{DefaultServeURL: serveURL}, standin.Always(started))

	f.do(t, post(`{"composition":"C","inputProps":{"secret":"hunter2"}}`))

	lines := strings.Split(strings.TrimSpace(f.logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1:\n%s", len(lines), f.logs)
	}
	var entry map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &entry); err != nil {
		t.Fatalf("log line is not JSON: %v", err)
	}
	for k, want := range map[string]any{"route": renderapi.RouteStart.Key(), "status": 202.0, "renderId": renderID, "requestId": "req-1"} {
		if entry[k] != want {
			t.Errorf("log %s = %v, want %v", k, entry[k], want)
		}
	}
	if _, ok := entry["durationMs"]; !ok {
		t.Error("log has no durationMs")
	}
	if strings.Contains(lines[0], "hunter2") {
		t.Error("the log carries the request body")
	}
}

func TestMisconfiguredFunctionExplainsItself(t *testing.T) {
	handle := api.Misconfigured(errFake("REMOTION_FUNCTION_NAME is not set"))

	resp, err := handle(context.Background(), post(`{}`))

	if err != nil || resp.StatusCode != 500 || !strings.Contains(resp.Body, "REMOTION_FUNCTION_NAME") || !strings.Contains(resp.Body, "configuration_error") {
		t.Errorf("got %v %+v", err, resp)
	}
}

type errFake string

func (e errFake) Error() string { return string(e) }

func BenchmarkStartThroughHandler(b *testing.B) {
	f := newFixture(b, api.Config{DefaultServeURL: serveURL}, standin.Always(started))
	req := post(`{"composition":"MyComp","inputProps":{"title":"Hello","n":1},"codec":"h264","crf":20}`)
	b.ReportAllocs()
	for b.Loop() {
		resp, _ := f.h.Handle(context.Background(), req)
		if resp.StatusCode != http.StatusAccepted {
			b.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
		}
	}
}

// Every option, given a JSON value of the wrong type, is refused naming it.
func TestEveryFieldRejectsTheWrongType(t *testing.T) {
	wrong := map[string]string{
		"composition": `1`, "serveUrl": `true`, "codec": `1`, "imageFormat": `["png"]`, "privacy": `1`,
		"pixelFormat": `1`, "proResProfile": `1`, "x264Preset": `1`, "audioCodec": `1`, "colorSpace": `1`,
		"deleteAfter": `1`, "videoBitrate": `5`, "audioBitrate": `128`, "encodingMaxRate": `1`, "encodingBufferSize": `1`,
		"crf": `"18"`, "jpegQuality": `"80"`, "everyNthFrame": `"2"`, "numberOfGifLoops": `"0"`, "framesPerLambda": `"20"`,
		"concurrency": `"10"`, "maxRetries": `true`, "timeoutInMilliseconds": `"30000"`,
		"scale": `"1"`, "muted": `1`, "metadata": `"a=b"`, "envVariables": `["A=B"]`, "outputKey": `{}`,
	}
	f := newFixture(t, api.Config{DefaultServeURL: serveURL}, standin.Always(started))
	for field, value := range wrong {
		t.Run(field, func(t *testing.T) {
			status, body := f.do(t, post(`{"composition":"C","`+field+`":`+value+`}`))

			if code, got, message := errorOf(body); status != 400 || code != "wrong_type" || got != field || !strings.Contains(message, field) {
				t.Errorf("got %d %s field %q (%s), want 400 wrong_type naming %s", status, code, got, message, field)
			}
		})
	}
}

func TestOutOfRangeValuesAreRefused(t *testing.T) {
	tests := []struct{ body, field string }{
		{`"composition":"My\u0007Comp"`, "composition"},
		{`"jpegQuality":-1`, "jpegQuality"},
		{`"crf":-1,"codec":"h265"`, "crf"},
		{`"crf":64,"codec":"vp9"`, "crf"},
		{`"everyNthFrame":-3`, "everyNthFrame"},
		{`"scale":-1`, "scale"},
		{`"scale":16.5`, "scale"},
		{`"numberOfGifLoops":-5,"codec":"gif"`, "numberOfGifLoops"},
		{`"framesPerLambda":0`, "framesPerLambda"},
		{`"concurrency":-1`, "concurrency"},
		{`"timeoutInMilliseconds":0`, "timeoutInMilliseconds"},
		{`"maxRetries":-2`, "maxRetries"},
		{`"encodingBufferSize":"0"`, "encodingBufferSize"},
		{`"videoBitrate":"-5M"`, "videoBitrate"},
		{`"metadata":{"":"x"}`, "metadata"},
		{`"metadata":` + manyEntries(101), "metadata"},
		{`"envVariables":{"":"x"}`, "envVariables"},
		{`"downloadBehavior":{"type":"download","fileName":""}`, "downloadBehavior"},
		{`"downloadBehavior":{"type":"play-in-browser","fileName":"a.mp4"}`, "downloadBehavior"},
		{`"frameRange":[0]`, "frameRange"},
		{`"frameRange":[0.5,2]`, "frameRange"},
	}
	f := newFixture(t, api.Config{DefaultServeURL: serveURL}, standin.Always(started))
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			status, body := f.do(t, post(`{"composition":"C",`+tt.body+`}`))

			if code, field, _ := errorOf(body); status != 400 || code != "invalid_value" || field != tt.field {
				t.Errorf("got %d %v, want 400 invalid_value naming %s", status, body, tt.field)
			}
		})
	}
}

func manyEntries(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = `"k` + strings.Repeat("x", i) + `":"v"`
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func TestLargePropsFailuresInS3AreNamed(t *testing.T) {
	bigBody := `{"composition":"C","inputProps":{"text":"` + strings.Repeat("x", remotion.MaxInlinePayloadSize) + `"}}`
	tests := []struct {
		name   string
		setup  func(*standin.Server)
		status int
		code   string
		says   string
	}{
		{"no Remotion bucket", func(*standin.Server) {}, 502, "upstream_error", "npx remotion lambda sites create"},
		{"S3 denies", func(s *standin.Server) { s.FailS3(http.StatusForbidden, "AccessDenied") }, 502, "access_denied", "remotion-executionrole-policy"},
		{"S3 fails", func(s *standin.Server) { s.FailS3(http.StatusServiceUnavailable, "SlowDown") }, 502, "upstream_error", "S3 failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, api.Config{DefaultServeURL: serveURL}, standin.Always(started))
			tt.setup(f.srv)

			status, body := f.do(t, post(bigBody))

			code, _, message := errorOf(body)
			if status != tt.status || code != tt.code || !strings.Contains(message, tt.says) {
				t.Errorf("got %d %s %q; want %d %s saying %q", status, code, message, tt.status, tt.code, tt.says)
			}
			if n := len(f.srv.Invocations()); n != 0 {
				t.Errorf("%d invocations after the props could not be stored", n)
			}
		})
	}
}

func TestLargePropsGoThroughS3EndToEnd(t *testing.T) {
	f := newFixture(t, api.Config{DefaultServeURL: serveURL}, standin.Always(started))
	f.srv.AddBucket(bucket, standin.Region)
	props := `{"text":"` + strings.Repeat("x", remotion.MaxInlinePayloadSize) + `"}`

	status, _ := f.do(t, post(`{"composition":"C","inputProps":`+props+`}`))

	if status != http.StatusAccepted {
		t.Fatalf("status %d", status)
	}
	var p struct {
		InputProps struct{ Type, Hash, BucketName string }
	}
	json.Unmarshal(f.srv.Invocations()[0].Payload, &p)
	stored, ok := f.srv.Object(bucket, remotion.InputPropsKey(p.InputProps.Hash))
	if p.InputProps.Type != "bucket-url" || !ok || string(stored) != props {
		t.Errorf("inputProps %+v, stored %v (%d bytes)", p.InputProps, ok, len(stored))
	}
}

// A bug must still answer JSON, without its stack, and log what happened.
func TestPanicsAnswer500AndAreLogged(t *testing.T) {
	t.Setenv(logs.FunctionNameVariable, "RemotionRenderStack-TriggerFunction")
	out := &bytes.Buffer{}
	log := logs.New(out, slog.LevelInfo)
	h, err := api.New(lifecycle.New(nil, lifecycle.Config{}, log), api.Config{DefaultServeURL: serveURL}, log) // no client: calling it panics
	if err != nil {
		t.Fatal(err)
	}
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "lambda-request-1"})

	resp, err := h.Handle(ctx, post(`{"composition":"C"}`))

	if err != nil || resp.StatusCode != http.StatusInternalServerError || !strings.Contains(resp.Body, `"code":"internal_error"`) {
		t.Fatalf("got %v %d %s", err, resp.StatusCode, resp.Body)
	}
	if strings.Contains(resp.Body, "goroutine") || strings.Contains(resp.Body, ".go:") {
		t.Errorf("the response leaks a stack: %s", resp.Body)
	}
	if !strings.Contains(out.String(), "panic:") || !strings.Contains(out.String(), `"status":500`) {
		t.Errorf("the panic is not logged: %s", out)
	}
	// The panic is counted, in CloudWatch's Embedded Metric Format, for the
	// stack's alarm; every line carries Lambda's request ID.
	var counted int
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("a log line is not JSON: %s", line)
		}
		if m[logs.RequestIDKey] != "lambda-request-1" {
			t.Errorf("a line has no Lambda request ID: %s", line)
		}
		emf, ok := m["_aws"].(map[string]any)
		if !ok {
			continue
		}
		counted++
		directive, _ := json.Marshal(emf["CloudWatchMetrics"])
		if m[metrics.Panics] != 1.0 || m[metrics.DimensionFunctionName] != "RemotionRenderStack-TriggerFunction" ||
			!strings.Contains(string(directive), `"Namespace":"`+metrics.Namespace+`"`) || !strings.Contains(string(directive), `"Name":"`+metrics.Panics+`"`) {
			t.Errorf("the metric line does not count one panic of the function: %s", line)
		}
	}
	if counted != 1 {
		t.Errorf("%d metric lines, want 1: %s", counted, out)
	}
}

// The handler answers every route of the API's one table, the table the
// stack deploys from (a stacks test checks that side); a route that is not
// in it is answered 404, naming the routes there are.
func TestTheHandlerServesEveryRouteOfTheTable(t *testing.T) {
	f, _ := queued(t, 100, standin.Always(started))

	for _, route := range renderapi.Routes {
		req := get("nosuchrender0000000000000a", nil)
		req.RouteKey = route.Key()
		if _, body := f.do(t, req); strings.Contains(fmt.Sprint(body), "no route") {
			t.Errorf("%s is in the table but not served: %v", route.Key(), body)
		}
	}
	status, body := f.do(t, events.APIGatewayV2HTTPRequest{RouteKey: "PUT /renders"})
	_, _, message := errorOf(body)
	if status != http.StatusNotFound || !strings.Contains(message, renderapi.Names(renderapi.Routes)) {
		t.Errorf("an unknown route: %d %q, want 404 naming every route", status, message)
	}
}

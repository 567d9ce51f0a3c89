package remotion_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"remotion-lambda-iam/internal/standin"
	"remotion-lambda-iam/internal/vectors"
	"remotion-lambda-iam/lambda/remotion"
	"remotion-lambda-iam/lambda/remotion/render"
)

const (
	functionName = "remotion-render-4-0-527-mem2048mb-disk2048mb-120sec"
	serveURL     = "https://remotionlambda-useast1-abcdefghij.s3.us-east-1.amazonaws.com/sites/my-site/index.html"
	bucket       = "remotionlambda-useast1-abcdefghij"
)

// newClient starts a stand-in answering with respond and a client that talks to it.
func newClient(t *testing.T, respond func(standin.Invocation) standin.Reply) (*remotion.Client, *standin.Server) {
	t.Helper()
	srv := standin.Start(respond)
	t.Cleanup(srv.Close)
	c, err := remotion.New(srv.AWSConfig(), remotion.Config{FunctionName: functionName, Region: standin.Region})
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

var started = standin.Started(bucket, "abcdef1234")

func options() *render.Options {
	return &render.Options{Composition: "MyComp", ServeURL: serveURL, InputProps: json.RawMessage(`{"title":"Hello","n":1}`)}
}

func TestStartRenderInvokesTheFunctionAndReturnsTheRender(t *testing.T) {
	c, srv := newClient(t, standin.Always(started))

	res, err := c.StartRender(context.Background(), options())

	if err != nil {
		t.Fatal(err)
	}
	if res.RenderID != "abcdef1234" || res.BucketName != bucket {
		t.Errorf("got %+v", res)
	}
	inv := srv.Invocations()
	if len(inv) != 1 || inv[0].FunctionName != functionName {
		t.Fatalf("invocations = %+v, want one of %s", inv, functionName)
	}
	var p map[string]any
	if err := json.Unmarshal(inv[0].Payload, &p); err != nil {
		t.Fatal(err)
	}
	if p["type"] != "start" || p["version"] != "4.0.527" || p["composition"] != "MyComp" {
		t.Errorf("payload = %v", p)
	}
}

func TestStartRenderRefusesInvalidOptionsWithoutCallingTheFunction(t *testing.T) {
	c, srv := newClient(t, standin.Always(started))
	o := options()
	crf := 70
	o.Crf = &crf

	_, err := c.StartRender(context.Background(), o)

	var verr *render.ValidationError
	if !errors.As(err, &verr) || verr.Field != "crf" {
		t.Fatalf("err = %v, want a validation error on crf", err)
	}
	if n := len(srv.Invocations()); n != 0 {
		t.Errorf("%d invocations, want none", n)
	}
}

func TestRenderProgressReadsEachStage(t *testing.T) {
	tests := []struct {
		vector   string
		state    remotion.State
		progress float64
		output   string
		errors   int
	}{
		{"progress-justStarted.json", remotion.StateRendering, 0, "", 0},
		{"progress-inProgress.json", remotion.StateRendering, 0.625, "", 0},
		{"progress-done.json", remotion.StateDone, 1, "https://s3.us-east-1.amazonaws.com/remotionlambda-useast1-abcdefghij/renders/abcdef1234/out.mp4", 0},
		{"progress-fatal.json", remotion.StateFailed, 0, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.vector, func(t *testing.T) {
			c, srv := newClient(t, standin.Always(standin.Reply{Body: vectors.Read(t, tt.vector)}))

			p, err := c.RenderProgress(context.Background(), bucket, "abcdef1234")

			if err != nil {
				t.Fatal(err)
			}
			if p.State() != tt.state || p.OverallProgress != tt.progress || len(p.Errors) != tt.errors {
				t.Errorf("state %s, progress %v, %d errors; want %s, %v, %d", p.State(), p.OverallProgress, len(p.Errors), tt.state, tt.progress, tt.errors)
			}
			if got := derefOr(p.OutputFile, ""); got != tt.output {
				t.Errorf("outputFile = %q, want %q", got, tt.output)
			}
			var payload map[string]any
			json.Unmarshal(srv.Invocations()[0].Payload, &payload)
			if payload["type"] != "status" || payload["renderId"] != "abcdef1234" || payload["bucketName"] != bucket {
				t.Errorf("status payload = %v", payload)
			}
		})
	}
}

func derefOr(s *string, fallback string) string {
	if s == nil {
		return fallback
	}
	return *s
}

func TestUpstreamFailuresAreClassified(t *testing.T) {
	versionMismatch := "Version mismatch: When calling renderMediaOnLambda(), you called the function " + functionName +
		" which has the version 4.0.526 but the @remotion/lambda package you used to invoke the function has version 4.0.527."
	tests := []struct {
		name     string
		reply    standin.Reply
		kind     remotion.Kind
		mentions string
	}{
		{"error reply", standin.Reply{Body: map[string]string{"type": "error", "message": "Something broke", "stack": "Error: Something broke\n    at secret.js:1"}},
			remotion.KindRenderRejected, "Something broke"},
		{"version mismatch reply", standin.Reply{Body: map[string]string{"type": "error", "message": versionMismatch, "stack": "x"}},
			remotion.KindVersionMismatch, "remotionVersion"},
		{"version mismatch crash", standin.Reply{FunctionError: "Unhandled", Body: map[string]any{"errorType": "Error", "errorMessage": versionMismatch, "trace": []string{"at a"}}},
			remotion.KindVersionMismatch, "4.0.527"},
		{"unhandled crash", standin.Reply{FunctionError: "Unhandled", Body: map[string]any{"errorType": "TypeError", "errorMessage": "x is undefined\n    at y", "trace": []string{"at a"}}},
			remotion.KindFunctionCrashed, "x is undefined"},
		{"function not found", standin.FunctionNotFound,
			remotion.KindFunctionNotFound, "npx remotion lambda functions deploy"},
		{"access denied", standin.AccessDenied,
			remotion.KindAccessDenied, "remotion-executionrole-policy"},
		{"throttled", standin.Throttled,
			remotion.KindThrottled, "throttling"},
		{"not JSON", standin.Reply{Body: json.RawMessage(`"just a string"`)}, remotion.KindUpstream, "not what this client understands"},
		{"unknown type", standin.Reply{Body: map[string]string{"type": "maybe"}}, remotion.KindUpstream, "unknown type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newClient(t, standin.Always(tt.reply))

			_, err := c.RenderProgress(context.Background(), bucket, "abcdef1234")

			var rerr *remotion.Error
			if !errors.As(err, &rerr) {
				t.Fatalf("err = %v, want a *remotion.Error", err)
			}
			if rerr.Kind != tt.kind {
				t.Errorf("kind = %v, want %v (%v)", rerr.Kind, tt.kind, err)
			}
			if !strings.Contains(rerr.Message, tt.mentions) {
				t.Errorf("message %q does not mention %q", rerr.Message, tt.mentions)
			}
			if strings.Contains(rerr.Message, "    at ") {
				t.Errorf("message leaks a stack trace: %q", rerr.Message)
			}
		})
	}
}

// Remotion's start handler launches the render before it answers, so a
// start's failure proves that nothing ran only when Lambda refused the call
// or Remotion refused the version, which it checks first. Every other
// failure may have launched the render.
func TestOnlyAProvenRefusalSaysAStartDidNotRun(t *testing.T) {
	versionMismatch := "Version mismatch: When calling renderMediaOnLambda(), you called the function " + functionName + " which has the version 4.0.526"
	tests := []struct {
		name       string
		reply      standin.Reply
		nothingRan bool
	}{
		{"a version mismatch reply", standin.Reply{Body: map[string]string{"type": "error", "message": versionMismatch}}, true},
		{"a version mismatch crash", standin.Reply{FunctionError: "Unhandled", Body: map[string]any{"errorMessage": versionMismatch}}, true},
		{"function not found", standin.FunctionNotFound, true},
		{"access denied", standin.AccessDenied, true},
		{"throttled", standin.Throttled, true},
		{"another error reply", standin.Reply{Body: map[string]string{"type": "error", "message": "Could not write the progress file", "stack": "Error\n    at x"}}, false},
		{"a function error", standin.Reply{FunctionError: "Unhandled", Body: map[string]any{"errorMessage": "Runtime exited with error: signal: killed", "trace": []string{"at a"}}}, false},
		{"a reply that is not JSON", standin.Reply{Body: json.RawMessage(`"just a string"`)}, false},
		{"an unknown type", standin.Reply{Body: map[string]string{"type": "maybe"}}, false},
		{"no renderId", standin.Reply{Body: map[string]string{"type": "success", "bucketName": bucket}}, false},
		{"a 500 from Lambda", standin.ServiceError, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newClient(t, standin.Always(tt.reply))

			_, err := c.StartRender(context.Background(), options())

			if err == nil {
				t.Fatal("the start succeeded")
			}
			if unknown := remotion.OutcomeUnknown(err); unknown == tt.nothingRan {
				t.Errorf("OutcomeUnknown = %v, want %v (%v)", unknown, !tt.nothingRan, err)
			}
			if strings.Contains(err.Error(), "    at ") {
				t.Errorf("the error leaks a stack trace: %v", err)
			}
		})
	}
}

// A deployment that renamed the policy is told to attach the one it has.
func TestAccessDeniedNamesTheConfiguredPolicy(t *testing.T) {
	srv := standin.Start(standin.Always(standin.AccessDenied))
	t.Cleanup(srv.Close)
	c, err := remotion.New(srv.AWSConfig(), remotion.Config{FunctionName: functionName, Region: standin.Region, PolicyName: "renders-prod-policy"})
	if err != nil {
		t.Fatal(err)
	}

	_, err = c.StartRender(context.Background(), options())

	if err == nil || !strings.Contains(err.Error(), "attach the renders-prod-policy managed policy") {
		t.Errorf("err = %v, want one naming renders-prod-policy", err)
	}
}

func TestThrottlingIsRetriedBeforeItIsReported(t *testing.T) {
	calls := 0
	c, _ := newClient(t, func(standin.Invocation) standin.Reply {
		calls++
		if calls < 3 {
			return standin.Throttled
		}
		return started
	})

	if _, err := c.StartRender(context.Background(), options()); err != nil {
		t.Fatalf("err = %v, want success on the third attempt", err)
	}
	if calls != 3 {
		t.Errorf("%d calls, want 3", calls)
	}
}

// A start that times out after it was sent may have started the render.
func TestSlowStartHitsTheDeadlineWithItsOutcomeUnknown(t *testing.T) {
	c, srv := newClient(t, standin.Always(standin.Reply{Body: started.Body, Delay: 10 * time.Second}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()

	_, err := c.StartRender(ctx, options())

	var rerr *remotion.Error
	if !errors.As(err, &rerr) || rerr.Kind != remotion.KindOutcomeUnknown || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want an unknown outcome at the deadline", err)
	}
	if n := len(srv.Invocations()); n != 1 {
		t.Errorf("%d invocations, want 1", n)
	}
}

func TestSlowStatusHitsTheDeadline(t *testing.T) {
	c, _ := newClient(t, standin.Always(standin.Reply{Body: vectors.Read(t, "progress-inProgress.json"), Delay: 10 * time.Second}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()

	_, err := c.RenderProgress(ctx, bucket, "abcdef1234")

	var rerr *remotion.Error
	if !errors.As(err, &rerr) || rerr.Kind != remotion.KindTimeout {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

// A start is paid work: it is sent again only when Lambda certainly did not
// run the function.
func TestStartIsSentAgainOnlyWhenItCertainlyDidNotRun(t *testing.T) {
	tests := []struct {
		name        string
		first       standin.Reply
		invocations int
		kind        remotion.Kind // of the error; -1 for success
	}{
		{"500 then 200", standin.ServiceError, 1, remotion.KindOutcomeUnknown},
		{"connection cut after the request", standin.Reply{Hangup: true}, 1, remotion.KindOutcomeUnknown},
		{"429 then 200", standin.Throttled, 2, -1},
		{"404 then 200", standin.FunctionNotFound, 1, remotion.KindFunctionNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv := newClient(t, standin.Sequence(tt.first, started))

			res, err := c.StartRender(context.Background(), options())

			if n := len(srv.Invocations()); n != tt.invocations {
				t.Errorf("%d invocations of the render function, want %d", n, tt.invocations)
			}
			if tt.kind < 0 {
				if err != nil || res.RenderID != "abcdef1234" {
					t.Errorf("StartRender = %v, %v; want the render", res, err)
				}
				return
			}
			var rerr *remotion.Error
			if !errors.As(err, &rerr) || rerr.Kind != tt.kind {
				t.Fatalf("err = %v, want kind %v", err, tt.kind)
			}
			if tt.kind == remotion.KindOutcomeUnknown && !strings.Contains(rerr.Message, "may have started") {
				t.Errorf("message %q does not say the render may have started", rerr.Message)
			}
		})
	}
}

// Reading progress is free to repeat: it keeps the SDK's retries.
func TestStatusIsRetriedAfterAServerError(t *testing.T) {
	c, srv := newClient(t, standin.Sequence(standin.ServiceError, standin.Reply{Body: vectors.Read(t, "progress-inProgress.json")}))

	p, err := c.RenderProgress(context.Background(), bucket, "abcdef1234")

	if err != nil || p.OverallProgress != 0.625 {
		t.Fatalf("RenderProgress = %+v, %v", p, err)
	}
	if n := len(srv.Invocations()); n != 2 {
		t.Errorf("%d invocations, want 2", n)
	}
}

func TestLargePropsGoThroughTheRegionsRemotionBucket(t *testing.T) {
	c, srv := newClient(t, standin.Always(started))
	srv.AddBucket(bucket, standin.Region)
	srv.AddBucket("remotionlambda-euwest1-zzzzzzzzzz", "eu-west-1")
	srv.AddBucket("someone-elses-bucket", standin.Region)
	o := options()
	big := `{"text":"` + strings.Repeat("x", remotion.MaxInlinePayloadSize) + `"}`
	o.InputProps = json.RawMessage(big)

	if _, err := c.StartRender(context.Background(), o); err != nil {
		t.Fatal(err)
	}

	var p struct {
		BucketName *string `json:"bucketName"`
		InputProps struct {
			Type, Hash, BucketName string
		} `json:"inputProps"`
	}
	if err := json.Unmarshal(srv.Invocations()[0].Payload, &p); err != nil {
		t.Fatal(err)
	}
	if p.InputProps.Type != "bucket-url" || p.InputProps.BucketName != bucket || len(p.InputProps.Hash) != 10 {
		t.Fatalf("inputProps = %+v, want a bucket-url in %s", p.InputProps, bucket)
	}
	if p.BucketName == nil || *p.BucketName != bucket {
		t.Errorf("top-level bucketName = %v, want %s", p.BucketName, bucket)
	}
	stored, ok := srv.Object(bucket, remotion.InputPropsKey(p.InputProps.Hash))
	if !ok {
		t.Fatalf("nothing at %s; objects: %v", remotion.InputPropsKey(p.InputProps.Hash), srv.Objects())
	}
	if string(stored) != big {
		t.Errorf("stored props differ from the request's (%d bytes, want %d)", len(stored), len(big))
	}
}

func TestLargePropsNeedExactlyOneRemotionBucket(t *testing.T) {
	tests := []struct {
		name     string
		buckets  []string
		mentions string
	}{
		{"none", nil, "there is none"},
		{"two", []string{bucket, "remotionlambda-useast1-bbbbbbbbbb"}, "exactly one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv := newClient(t, standin.Always(started))
			for _, b := range tt.buckets {
				srv.AddBucket(b, standin.Region)
			}
			o := options()
			o.InputProps = json.RawMessage(`{"text":"` + strings.Repeat("x", remotion.MaxInlinePayloadSize) + `"}`)

			_, err := c.StartRender(context.Background(), o)

			if err == nil || !strings.Contains(err.Error(), tt.mentions) {
				t.Fatalf("err = %v, want one that mentions %q", err, tt.mentions)
			}
			if n := len(srv.Invocations()); n != 0 {
				t.Errorf("%d invocations, want none", n)
			}
		})
	}
}

func TestNewNeedsAVersionFromConfigOrName(t *testing.T) {
	srv := standin.Start(standin.Always(started))
	defer srv.Close()
	if _, err := remotion.New(srv.AWSConfig(), remotion.Config{FunctionName: "remotion-render-custom"}); err == nil {
		t.Error("New accepted a function name without a version and no version")
	}
	c, err := remotion.New(srv.AWSConfig(), remotion.Config{FunctionName: "remotion-render-custom", Version: "4.0.500"})
	if err != nil || c.Version() != "4.0.500" {
		t.Errorf("New = %v, %v; want version 4.0.500", c, err)
	}
}

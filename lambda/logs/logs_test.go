package logs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"remotion-lambda-iam/contract/metrics"
	"remotion-lambda-iam/lambda/logs"
)

// lines parses what a logger wrote: one JSON object a line.
func lines(t *testing.T, out *bytes.Buffer) []map[string]any {
	t.Helper()
	var got []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("a line is not JSON: %v\n%s", err, line)
		}
		got = append(got, m)
	}
	return got
}

// invocation is the context Lambda gives a handler.
func invocation(requestID string) context.Context {
	return lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: requestID})
}

func TestLambdasLevelNamesAreParsedAndAnythingElseIsInfo(t *testing.T) {
	for name, want := range map[string]slog.Level{
		"TRACE": logs.LevelTrace,
		"DEBUG": slog.LevelDebug,
		"INFO":  slog.LevelInfo,
		"WARN":  slog.LevelWarn,
		"ERROR": slog.LevelError,
		"FATAL": logs.LevelFatal,
		"debug": slog.LevelDebug, // in any case
		" warn": slog.LevelWarn,
		"":      slog.LevelInfo, // unset
		"LOUD":  slog.LevelInfo, // unknown
		"-4":    slog.LevelInfo,
	} {
		if got := logs.ParseLevel(name); got != want {
			t.Errorf("ParseLevel(%q) = %v, want %v", name, got, want)
		}
	}
	if !(logs.LevelTrace < slog.LevelDebug && logs.LevelFatal > slog.LevelError) {
		t.Errorf("TRACE %v is not below DEBUG, or FATAL %v not above ERROR", logs.LevelTrace, logs.LevelFatal)
	}
}

// Each level keeps its own lines and the ones above, and drops those below.
func TestTheLevelIsHonoured(t *testing.T) {
	all := []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
	for i, configured := range all {
		t.Run(configured, func(t *testing.T) {
			var out bytes.Buffer
			log := logs.New(&out, logs.ParseLevel(configured))

			for _, name := range all {
				log.Log(context.Background(), logs.ParseLevel(name), name)
			}

			var kept []string
			for _, line := range lines(t, &out) {
				kept = append(kept, line["msg"].(string))
			}
			if want := all[i:]; strings.Join(kept, " ") != strings.Join(want, " ") {
				t.Errorf("at %s the lines kept are %v, want %v", configured, kept, want)
			}
		})
	}
}

func TestADebugLineIsDroppedAtInfoAndKeptAtDebug(t *testing.T) {
	var atInfo, atDebug bytes.Buffer
	logs.New(&atInfo, logs.ParseLevel("INFO")).Debug("detail")
	logs.New(&atDebug, logs.ParseLevel("DEBUG")).Debug("detail")

	if atInfo.Len() != 0 {
		t.Errorf("at INFO a debug line was written: %s", &atInfo)
	}
	if got := lines(t, &atDebug); len(got) != 1 || got[0]["msg"] != "detail" || got[0]["level"] != "DEBUG" {
		t.Errorf("at DEBUG: %v", got)
	}
}

// Lambda reads each line's "level" to filter it: the names must be Lambda's.
func TestLevelsAreNamedAsLambdaNamesThem(t *testing.T) {
	var out bytes.Buffer
	log := logs.New(&out, logs.LevelTrace)
	for _, name := range []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"} {
		log.Log(context.Background(), logs.ParseLevel(name), name)
	}

	for _, line := range lines(t, &out) {
		if line["level"] != line["msg"] {
			t.Errorf("a %s line says level %v", line["msg"], line["level"])
		}
	}
}

func TestEveryLineCarriesLambdasRequestID(t *testing.T) {
	var out bytes.Buffer
	log := logs.New(&out, slog.LevelInfo)
	ctx := invocation("8476a536-e9f4-11e8-9739-2dfe598c3fcd")

	log.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("requestId", "api-gateway-id"))
	log.ErrorContext(ctx, "failed")
	log.With("route", "POST /renders").InfoContext(ctx, "with attributes")
	log.WithGroup("g").InfoContext(ctx, "in a group", "k", "v")

	got := lines(t, &out)
	if len(got) != 4 {
		t.Fatalf("%d lines: %v", len(got), got)
	}
	for _, line := range got[:3] {
		if line[logs.RequestIDKey] != "8476a536-e9f4-11e8-9739-2dfe598c3fcd" {
			t.Errorf("line %q has %s %v", line["msg"], logs.RequestIDKey, line[logs.RequestIDKey])
		}
	}
	if got[0]["requestId"] != "api-gateway-id" {
		t.Errorf("API Gateway's request ID is gone: %v", got[0])
	}
	// In a group the ID is in the group, as every other attribute is.
	if g, _ := got[3]["g"].(map[string]any); g[logs.RequestIDKey] != "8476a536-e9f4-11e8-9739-2dfe598c3fcd" {
		t.Errorf("the grouped line has no request ID: %v", got[3])
	}
}

func TestLinesOutsideAnInvocationHaveNoRequestID(t *testing.T) {
	var out bytes.Buffer
	log := logs.New(&out, slog.LevelInfo)

	log.Info("cold start")
	log.LogAttrs(nil, slog.LevelInfo, "no context") // must not panic

	for _, line := range lines(t, &out) {
		if _, ok := line[logs.RequestIDKey]; ok {
			t.Errorf("line %q has a request ID: %v", line["msg"], line)
		}
	}
}

// A panic is counted in CloudWatch's Embedded Metric Format: a JSON line whose
// _aws member declares the metric, with the value and the dimension beside it.
func TestAPanicIsCountedAsAnEmbeddedMetric(t *testing.T) {
	t.Setenv(logs.FunctionNameVariable, "RemotionRenderStack-TriggerFunction15E6AA91-abc")
	var out bytes.Buffer
	log := logs.New(&out, logs.ParseLevel("FATAL")) // the quietest level still counts
	before := time.Now().UnixMilli()

	logs.CountPanic(invocation("id-1"), log)

	got := lines(t, &out)
	if len(got) != 1 {
		t.Fatalf("%d lines, want 1: %s", len(got), &out)
	}
	line := got[0]
	var emf struct {
		Timestamp         *int64
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct{ Name, Unit string }
		}
	}
	b, _ := json.Marshal(line["_aws"])
	if err := json.Unmarshal(b, &emf); err != nil {
		t.Fatalf("_aws: %v", err)
	}
	if emf.Timestamp == nil || *emf.Timestamp < before || *emf.Timestamp > time.Now().UnixMilli() {
		t.Errorf("Timestamp %v is not the time of writing in milliseconds", emf.Timestamp)
	}
	want := `[{"Namespace":"RemotionRender","Dimensions":[["FunctionName"]],"Metrics":[{"Name":"Panics","Unit":"Count"}]}]`
	if b, _ := json.Marshal(emf.CloudWatchMetrics); string(b) != want {
		t.Errorf("CloudWatchMetrics = %s\nwant %s", b, want)
	}
	if line[metrics.Panics] != 1.0 {
		t.Errorf("%s = %v, want 1", metrics.Panics, line[metrics.Panics])
	}
	if line[metrics.DimensionFunctionName] != "RemotionRenderStack-TriggerFunction15E6AA91-abc" {
		t.Errorf("%s = %v", metrics.DimensionFunctionName, line[metrics.DimensionFunctionName])
	}
	if line["level"] != "FATAL" || line[logs.RequestIDKey] != "id-1" {
		t.Errorf("level %v, request ID %v", line["level"], line[logs.RequestIDKey])
	}
}

// The names the stack alarms on are the ones written.
func TestTheMetricNamesAreTheSharedOnes(t *testing.T) {
	if metrics.Namespace != "RemotionRender" || metrics.Panics != "Panics" || metrics.DimensionFunctionName != "FunctionName" {
		t.Errorf("metrics.Namespace %q, Panics %q, DimensionFunctionName %q changed: a deployed alarm watches the old names",
			metrics.Namespace, metrics.Panics, metrics.DimensionFunctionName)
	}
}

package api_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"remotion-lambda-iam/internal/standin"
	"remotion-lambda-iam/internal/vectors"
	"remotion-lambda-iam/lambda/api"
)

const outputBucket = "output-bucket"

// Remotion's IAM-roles guide's example renders into output-bucket under my-output; Remotion's
// client sends start-output-bucket.json for it.
func TestRenderIntoTheOutputBucketSendsRemotionsPayload(t *testing.T) {
	f := newFixture(t, api.Config{DefaultServeURL: serveURL, OutputBucket: outputBucket}, standin.Always(started))

	status, body := f.do(t, post(`{"composition":"MyComp","codec":"h264","inputProps":{"title":"Hello","n":1},"outputKey":"my-output"}`))

	if status != http.StatusAccepted {
		t.Fatalf("status %d: %v", status, body)
	}
	var got, want any
	json.Unmarshal(f.srv.Invocations()[0].Payload, &got)
	json.Unmarshal(vectors.Read(t, "start-output-bucket.json"), &want)
	if !jsonEqual(got, want) {
		t.Errorf("payload differs from start-output-bucket.json:\n got %s", f.srv.Invocations()[0].Payload)
	}
	wantOutput := map[string]any{"bucket": outputBucket, "key": "my-output", "s3Uri": "s3://output-bucket/my-output"}
	if !jsonEqual(body["output"], wantOutput) {
		t.Errorf("output = %v, want %v", body["output"], wantOutput)
	}
}

func TestDefaultOutputKeyIsAUniqueNameWithTheCodecsExtension(t *testing.T) {
	tests := []struct{ codec, ext string }{
		{"h264", "mp4"}, {"h265", "mp4"}, {"vp8", "webm"}, {"vp9", "webm"}, {"prores", "mov"},
		{"gif", "gif"}, {"mp3", "mp3"}, {"aac", "aac"}, {"wav", "wav"},
	}
	pattern := regexp.MustCompile(`^renders/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.([a-z0-9]+)$`)
	f := newFixture(t, api.Config{DefaultServeURL: serveURL, OutputBucket: outputBucket}, standin.Always(started))
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.codec, func(t *testing.T) {
			status, body := f.do(t, post(`{"composition":"C","codec":"`+tt.codec+`"}`))
			if status != http.StatusAccepted {
				t.Fatalf("status %d: %v", status, body)
			}
			key, _ := body["output"].(map[string]any)["key"].(string)
			m := pattern.FindStringSubmatch(key)
			if m == nil || m[1] != tt.ext {
				t.Errorf("key %q, want renders/<uuid>.%s", key, tt.ext)
			}
			if seen[key] {
				t.Errorf("key %q given twice", key)
			}
			seen[key] = true
		})
	}
}

func TestEveryRenderGoesToTheOutputBucketWithoutACLs(t *testing.T) {
	f := newFixture(t, api.Config{DefaultServeURL: serveURL, OutputBucket: outputBucket}, standin.Always(started))

	f.do(t, post(`{"composition":"C","privacy":"no-acl"}`))

	var p struct {
		Privacy string
		OutName struct{ Key, BucketName string }
	}
	json.Unmarshal(f.srv.Invocations()[0].Payload, &p)
	if p.Privacy != "no-acl" || p.OutName.BucketName != outputBucket || p.OutName.Key == "" {
		t.Errorf("privacy %q, outName %+v", p.Privacy, p.OutName)
	}
}

func TestBadOutputRequestsNameTheField(t *testing.T) {
	tests := []struct {
		name, body, field string
	}{
		{"leading slash", `"/renders/a.mp4"`, "outputKey"},
		{"trailing slash", `"renders/"`, "outputKey"},
		{"parent segment", `"renders/../secrets/a.mp4"`, "outputKey"},
		{"current segment", `"renders/./a.mp4"`, "outputKey"},
		{"double slash", `"renders//a.mp4"`, "outputKey"},
		{"empty", `""`, "outputKey"},
		{"too long", `"` + strings.Repeat("k", 513) + `"`, "outputKey"},
		{"space", `"my render.mp4"`, "outputKey"},
		{"backslash", `"renders\\a.mp4"`, "outputKey"},
		{"control character", `"renders/a\u0000.mp4"`, "outputKey"},
		{"non-ASCII", `"renders/vidéo.mp4"`, "outputKey"},
		{"query", `"a.mp4?x=1"`, "outputKey"},
	}
	f := newFixture(t, api.Config{DefaultServeURL: serveURL, OutputBucket: outputBucket}, standin.Always(started))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.do(t, post(`{"composition":"C","outputKey":`+tt.body+`}`))

			if code, field, _ := errorOf(body); status != 400 || code != "invalid_value" || field != tt.field {
				t.Errorf("got %d %v, want 400 invalid_value on %s", status, body, tt.field)
			}
		})
	}
	for _, privacy := range []string{"public", "private"} {
		t.Run("privacy "+privacy, func(t *testing.T) {
			status, body := f.do(t, post(`{"composition":"C","privacy":"`+privacy+`"}`))

			if code, field, _ := errorOf(body); status != 400 || code != "invalid_value" || field != "privacy" {
				t.Errorf("got %d %v, want 400 invalid_value on privacy", status, body)
			}
		})
	}
	t.Run("outputKey not a string", func(t *testing.T) {
		status, body := f.do(t, post(`{"composition":"C","outputKey":7}`))

		if code, field, _ := errorOf(body); status != 400 || code != "wrong_type" || field != "outputKey" {
			t.Errorf("got %d %v", status, body)
		}
	})
	if n := len(f.srv.Invocations()); n != 0 {
		t.Errorf("bad requests invoked the render function %d times", n)
	}
}

func TestProgressReportsWhereTheOutputLanded(t *testing.T) {
	var done map[string]any
	json.Unmarshal(vectors.Read(t, "progress-done.json"), &done)
	done["outBucket"] = outputBucket
	done["outKey"] = "renders/clip.mp4"
	done["outputFile"] = "https://s3.us-east-1.amazonaws.com/output-bucket/renders/clip.mp4"
	f := newFixture(t, api.Config{OutputBucket: outputBucket}, standin.Always(standin.Reply{Body: done}))

	status, body := f.do(t, get(renderID, map[string]string{"bucket": bucket}))

	want := map[string]any{
		"bucket": outputBucket,
		"key":    "renders/clip.mp4",
		"s3Uri":  "s3://output-bucket/renders/clip.mp4",
		"url":    "https://s3.us-east-1.amazonaws.com/output-bucket/renders/clip.mp4",
	}
	if status != 200 || body["state"] != "done" || !jsonEqual(body["output"], want) {
		t.Errorf("got %d state %v output %v; want done with %v", status, body["state"], body["output"], want)
	}
}

package remotion

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"remotion-lambda-iam/internal/vectors"
	"remotion-lambda-iam/lambda/remotion/render"
)

// The inputs behind Remotion 4.0.527's own payloads in testdata/4.0.527.
const (
	vectorVersion  = "4.0.527"
	vectorServeURL = "https://remotionlambda-useast1-abcdefghij.s3.us-east-1.amazonaws.com/sites/my-site/index.html"
	vectorBucket   = "remotionlambda-useast1-abcdefghij"
	vectorRenderID = "abcdef1234"
)

func vectorOptions() *render.Options {
	return &render.Options{
		Composition: "MyComp",
		ServeURL:    vectorServeURL,
		InputProps:  json.RawMessage(`{"title": "Hello", "n": 1}`),
		Codec:       "h264",
	}
}

// assertSameJSON compares two JSON documents as values: key order and
// white space aside, every key and value must match, nulls included.
func assertSameJSON(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want invalid JSON: %v", err)
	}
	if reflect.DeepEqual(g, w) {
		return
	}
	gm, gok := g.(map[string]any)
	wm, wok := w.(map[string]any)
	if gok && wok {
		for k, wv := range wm {
			gv, ok := gm[k]
			if !ok {
				t.Errorf("key %q missing (want %v)", k, wv)
			} else if !reflect.DeepEqual(gv, wv) {
				t.Errorf("key %q = %v, want %v", k, gv, wv)
			}
		}
		for k, gv := range gm {
			if _, ok := wm[k]; !ok {
				t.Errorf("extra key %q = %v", k, gv)
			}
		}
		return
	}
	t.Errorf("got %s\nwant %s", got, want)
}

func (c *Client) mustStartPayload(t *testing.T, o *render.Options) []byte {
	t.Helper()
	b, err := c.startPayload(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStartPayloadMatchesRemotionDefault(t *testing.T) {
	c := &Client{version: vectorVersion}
	got := c.mustStartPayload(t, vectorOptions())
	assertSameJSON(t, got, vectors.Read(t, "start-default.json"))
}

// A webhook changes the payload's webhook key and nothing else.
func TestStartPayloadCarriesTheWebhook(t *testing.T) {
	c := &Client{version: vectorVersion}
	o := vectorOptions()
	o.Webhook = &render.Webhook{URL: "https://abc.execute-api.us-east-1.amazonaws.com/webhooks/remotion", Secret: "s3cr3t",
		CustomData: json.RawMessage(`{"requestId":"req-1"}`)}

	var got, want map[string]any
	json.Unmarshal(c.mustStartPayload(t, o), &got)
	json.Unmarshal(vectors.Read(t, "start-default.json"), &want)

	assertSameJSON(t, mustJSON(t, got["webhook"]), []byte(`{"url":"https://abc.execute-api.us-east-1.amazonaws.com/webhooks/remotion","secret":"s3cr3t","customData":{"requestId":"req-1"}}`))
	delete(got, "webhook")
	delete(want, "webhook")
	assertSameJSON(t, mustJSON(t, got), mustJSON(t, want))
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStartPayloadMatchesRemotionOutputBucket(t *testing.T) {
	c := &Client{version: vectorVersion}
	o := vectorOptions()
	o.OutName = &render.OutName{Key: "my-output", BucketName: "output-bucket"}
	o.Privacy = "no-acl"
	assertSameJSON(t, c.mustStartPayload(t, o), vectors.Read(t, "start-output-bucket.json"))
}

func TestStatusPayloadMatchesRemotion(t *testing.T) {
	got, err := marshal(statusPayload{Type: "status", BucketName: vectorBucket, RenderID: vectorRenderID, Version: vectorVersion, LogLevel: "info"})
	if err != nil {
		t.Fatal(err)
	}
	assertSameJSON(t, got, vectors.Read(t, "status.json"))
}

// The render function fails its launch if concurrency is absent rather than
// null, and if envVariables is not an object.
func TestStartPayloadCarriesLoadBearingKeys(t *testing.T) {
	c := &Client{version: vectorVersion}
	var p map[string]json.RawMessage
	if err := json.Unmarshal(c.mustStartPayload(t, &render.Options{Composition: "C", ServeURL: vectorServeURL}), &p); err != nil {
		t.Fatal(err)
	}
	if got, ok := p["concurrency"]; !ok || string(got) != "null" {
		t.Errorf("concurrency = %s (present %v), want null", got, ok)
	}
	if got := string(p["envVariables"]); got != "{}" {
		t.Errorf("envVariables = %s, want {}", got)
	}
	if got := string(p["inputProps"]); got != `{"type":"payload","payload":"{}"}` {
		t.Errorf("inputProps = %s, want an empty props payload", got)
	}
}

func TestStartPayloadSetsOptions(t *testing.T) {
	c := &Client{version: vectorVersion}
	o := vectorOptions()
	crf, fpl, loops := 20, 10, 0
	scale := 0.5
	o.Crf, o.FramesPerLambda, o.Scale = &crf, &fpl, &scale
	o.FrameRange = &render.FrameRange{First: 0, Last: 9}
	name := "clip.mp4"
	o.DownloadBehavior = &render.DownloadBehavior{Type: "download", FileName: &name}
	o.Metadata = map[string]string{"author": "me"}
	o.NumberOfGifLoops = &loops
	var p map[string]any
	if err := json.Unmarshal(c.mustStartPayload(t, o), &p); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"crf":              20.0,
		"framesPerLambda":  10.0,
		"scale":            0.5,
		"frameRange":       []any{0.0, 9.0},
		"downloadBehavior": map[string]any{"type": "download", "fileName": "clip.mp4"},
		"metadata":         map[string]any{"author": "me"},
		"numberOfGifLoops": 0.0,
	}
	for k, v := range want {
		if !reflect.DeepEqual(p[k], v) {
			t.Errorf("%s = %#v, want %#v", k, p[k], v)
		}
	}
}

func TestNeedsUploadCountsUTF16Units(t *testing.T) {
	tests := []struct {
		name  string
		props string
		env   map[string]string
		want  bool
	}{
		{"at the limit", strings.Repeat("a", MaxInlinePayloadSize-2), nil, false}, // "{}" of env makes up the rest
		{"one over", strings.Repeat("a", MaxInlinePayloadSize-1), nil, true},
		{"env counts", strings.Repeat("a", MaxInlinePayloadSize-10), map[string]string{"K": "VVVV"}, true},
		// U+1F600 is one rune, four UTF-8 bytes and two UTF-16 units.
		{"astral runes count twice", strings.Repeat("😀", (MaxInlinePayloadSize-2)/2), nil, false},
		{"astral runes over", strings.Repeat("😀", (MaxInlinePayloadSize-2)/2+1), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := needsUpload(tt.props, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("needsUpload = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRandomHashIsTenAlphanumerics(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		h := randomHash()
		if len(h) != 10 || strings.Trim(h, hashAlphabet) != "" {
			t.Fatalf("randomHash() = %q, want 10 characters of [a-z0-9]", h)
		}
		seen[h] = true
	}
	if len(seen) < 100 {
		t.Errorf("randomHash repeated itself: %d distinct of 100", len(seen))
	}
}

func BenchmarkStartPayload(b *testing.B) {
	c := &Client{version: vectorVersion}
	o := vectorOptions()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.startPayload(context.Background(), o); err != nil {
			b.Fatal(err)
		}
	}
}

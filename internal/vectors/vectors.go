// Package vectors reads what Remotion 4.0.527's own code sends, receives and
// signs (lambda/remotion/testdata/4.0.527), for the tests of every package.
package vectors

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// dir is the vectors' folder, found from this file, so that a test reads it
// from whatever package directory it runs in.
func dir(tb testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		tb.Fatal("vectors: cannot locate the test vectors")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "lambda", "remotion", "testdata", "4.0.527")
}

// Read returns one vector file.
func Read(tb testing.TB, name string) json.RawMessage {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir(tb), name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// Webhooks are completion webhooks as Remotion's render function sends them:
// bodies and headers made by its own calculateSignature for Secret.
type Webhooks struct {
	Secret  string `json:"secret"`
	Vectors map[string]struct {
		Headers   map[string]string `json:"headers"`
		Body      string            `json:"body"`
		BodyBytes int               `json:"bodyBytes"`
	} `json:"vectors"`
}

// ReadWebhooks returns webhooks.json.
func ReadWebhooks(tb testing.TB) Webhooks {
	tb.Helper()
	var w Webhooks
	if err := json.Unmarshal(Read(tb, "webhooks.json"), &w); err != nil {
		tb.Fatal(err)
	}
	return w
}

package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"remotion-lambda-iam/internal/standin"
)

// nodeClientDirEnv names a directory where @remotion/lambda-client is
// installed (npm install --prefix DIR @remotion/lambda-client), outside the
// module tree: a node_modules in it would break go ./...
const nodeClientDirEnv = "REMOTION_NODE_CLIENT_DIR"

// BenchmarkColdStartNode measures what BenchmarkColdStart's untracked/start
// measures, for a Node.js function that starts the render with Remotion's
// own client: a new emulator and the function from process start to the
// first answered start, under the same emulator, against the same stand-in.
// The function is a custom runtime (testdata/nodecoldstart/bootstrap.js,
// the Runtime API loop on Node's built-in fetch) that loads its handler, and
// with it @remotion/lambda-client, at start-up, as Lambda's Node.js runtime
// does. scripts/node-coldstart.sh installs the client and runs both.
func BenchmarkColdStartNode(b *testing.B) {
	dir := os.Getenv(nodeClientDirEnv)
	if dir == "" {
		b.Skipf("set %s to a directory where @remotion/lambda-client is installed (npm install --prefix DIR @remotion/lambda-client@4.0.527, or run scripts/node-coldstart.sh) to compare with a Node.js function", nodeClientDirEnv)
	}
	modules, err := filepath.Abs(filepath.Join(dir, "node_modules"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(modules, "@remotion", "lambda-client", "package.json")); err != nil {
		b.Fatalf("%s=%s: @remotion/lambda-client is not installed there: %v", nodeClientDirEnv, dir, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		b.Skipf("%s is set but node is not on PATH: %v", nodeClientDirEnv, err)
	}
	runtimeDir, err := filepath.Abs(filepath.Join("testdata", "nodecoldstart"))
	if err != nil {
		b.Fatal(err)
	}
	bootstrap := []string{node, filepath.Join(runtimeDir, "bootstrap.js"), filepath.Join(runtimeDir, "handler.js")}
	buildBinaries(b) // the emulator

	b.Run("untracked/start", func(b *testing.B) {
		srv := standin.Start(standin.NewRenders(e2eBucket))
		defer srv.Close()
		var samples []time.Duration
		for b.Loop() {
			begin := time.Now()
			emu := startEmulatorOf(b, bootstrap, srv, "NODE_PATH="+modules)
			if resp, body := emu.invoke(b, webhookedStart()); resp.StatusCode != http.StatusAccepted {
				b.Fatalf("status %d %v, want %d\nemulator output:\n%s", resp.StatusCode, body, http.StatusAccepted, emu.logs)
			}
			samples = append(samples, time.Since(begin))
			emu.stop()
		}
		// Every start reached the stand-in (through AWS_ENDPOINT_URL_LAMBDA,
		// which the client's AWS SDK honours) as a start of the render function.
		inv := srv.Invocations()
		if len(inv) != len(samples) {
			b.Fatalf("%d starts made %d invocations, want one each", len(samples), len(inv))
		}
		for _, in := range inv {
			if in.FunctionName != e2eFunctionName || !strings.Contains(string(in.Payload), `"type":"start"`) {
				b.Fatalf("an invocation of %q with %s, want a start of %q", in.FunctionName, in.Payload, e2eFunctionName)
			}
		}
		reportPercentiles(b, samples)
	})
}

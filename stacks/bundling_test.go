package stacks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// writeModule lays out a small Go module and returns its root. The function's
// main package, in fn/, embeds a file and imports a package beside it, one
// outside its directory and one of a module replaced by a directory. It has a
// test, testdata, a README and files that build constraints leave out of a
// linux/arm64 lambda.norpc build.
func writeModule(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"go.mod":                    "module m\n\ngo 1.22\n\nrequire example.com/lib v0.0.0\n\nreplace example.com/lib => ./lib\n",
		"lib/go.mod":                "module example.com/lib\n\ngo 1.22\n",
		"lib/lib.go":                "package lib\n\nfunc Load() {}\n",
		"contract/contract.go":      "package contract\n\nfunc Check() {}\n",
		"unused/unused.go":          "package unused\n",
		"fn/main.go":                mainSource,
		"fn/greeting.txt":           "hello\n",
		"fn/main_test.go":           "package main\n",
		"fn/testdata/case.json":     "{}\n",
		"fn/README.md":              "# fn\n",
		"fn/greet/greet.go":         "package greet\n\nfunc Hello(string) {}\n",
		"fn/greet/greet_windows.go": "package greet\n",
		"fn/greet/rpc.go":           "//go:build !lambda.norpc\n\npackage greet\n",
	} {
		path := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const mainSource = `package main

import (
	_ "embed"

	"example.com/lib"
	"m/contract"
	"m/fn/greet"
)

//go:embed greeting.txt
var greeting string

func main() {
	contract.Check()
	lib.Load()
	greet.Hello(greeting)
}
`

func mustHash(t *testing.T, dir string) string {
	t.Helper()
	h, err := sourceHash(dir)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// The asset's hash changes exactly when the binary can.
func TestSourceHashFollowsWhatDecidesTheBinary(t *testing.T) {
	tests := []struct {
		file    string // relative to the module's root
		add     string // appended to the file; a Go comment when empty
		changes bool
	}{
		{"fn/main.go", "", true},
		{"fn/greeting.txt", "", true},
		{"fn/greet/greet.go", "", true},
		{"fn/greet/extra.go", "package greet\n", true},
		{"contract/contract.go", "", true},
		{"lib/lib.go", "", true},
		{"lib/go.mod", "", true},
		{"go.mod", "", true},
		{"go.sum", "", true},
		{"fn/main_test.go", "", false},
		{"fn/testdata/case.json", "", false},
		{"fn/README.md", "", false},
		{"fn/greet/greet_windows.go", "", false},
		{"fn/greet/rpc.go", "", false},
		{"unused/unused.go", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			root := writeModule(t)
			fn := filepath.Join(root, "fn")
			before := mustHash(t, fn)

			f, err := os.OpenFile(filepath.Join(root, tt.file), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			if tt.add == "" {
				tt.add = "\n// changed\n"
			}
			f.WriteString(tt.add)
			f.Close()

			if changed := mustHash(t, fn) != before; changed != tt.changes {
				t.Errorf("editing %s changed the hash: %v, want %v", tt.file, changed, tt.changes)
			}
		})
	}
}

// A function the go command cannot list fails synthesis, naming its directory
// and saying why.
func TestUnlistableFunctionFailsSynthNamingItsDirectory(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module broken\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nimport \"broken/missing\"\n"), 0o644)

	var failure any
	func() {
		defer func() { failure = recover() }()
		goFunctionCode(dir)
	}()

	msg := fmt.Sprint(failure)
	if failure == nil || !strings.Contains(msg, dir) || !strings.Contains(msg, "broken/missing") {
		t.Errorf("listing a function that imports a missing package failed with %q, want its directory and the package", msg)
	}
}

func BenchmarkSourceHash(b *testing.B) {
	for b.Loop() {
		if _, err := sourceHash("../lambda"); err != nil {
			b.Fatal(err)
		}
	}
}

// A second synth into the same cloud assembly reuses the staged bootstrap
// rather than building it again; a changed source builds it anew.
func TestSynthReusesTheStagedBootstrap(t *testing.T) {
	fnDir := filepath.Join(writeModule(t), "fn")
	outdir := t.TempDir()
	synthInto := func() string {
		ctx := cdkJSONContext(t)
		app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(outdir), BuiltinCloudFormationValidation: jsii.Bool(false)})
		_, cfg := testApp(t, nil, false)
		var template string
		noPanic(t, func() {
			stack := NewRemotionRenderStack(app, cfg.StackName, &RemotionRenderStackProps{Config: cfg, FunctionDir: fnDir})
			template = *app.Synth(nil).GetStackArtifact(stack.ArtifactId()).TemplateFullPath()
		})
		b, err := os.ReadFile(template)
		if err != nil {
			t.Fatal(err)
		}
		s := &synthesized{}
		if err := json.Unmarshal(b, &s.template); err != nil {
			t.Fatal(err)
		}
		_, fn := s.byID(t, "AWS::Lambda::Function", "TriggerFunction")
		key := props(fn)["Code"].(map[string]any)["S3Key"].(string)
		return filepath.Join(outdir, "asset."+strings.TrimSuffix(key, ".zip"), "bootstrap")
	}

	first := synthInto()
	marker := []byte("built by the first synth")
	if err := os.WriteFile(first, marker, 0o755); err != nil {
		t.Fatalf("no staged bootstrap: %v", err)
	}
	second := synthInto()

	if got, _ := os.ReadFile(second); second != first || !bytes.Equal(got, marker) {
		t.Error("the second synth built the bootstrap again")
	}
	os.WriteFile(filepath.Join(fnDir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644)
	third := synthInto()
	if third == first {
		t.Fatal("a changed source kept the asset's hash")
	}
	if got, err := os.ReadFile(third); err != nil || bytes.Equal(got, marker) {
		t.Errorf("a changed source did not build a new bootstrap: %v", err)
	}
}

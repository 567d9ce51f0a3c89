package stacks

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// writeModule lays out a small Go module: a main package, its test, its
// testdata and a package it imports.
func writeModule(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"go.mod":             "module fn\n\ngo 1.22\n",
		"main.go":            "package main\n\nimport \"fn/greet\"\n\nfunc main() { greet.Hello() }\n",
		"main_test.go":       "package main\n",
		"testdata/case.json": "{}\n",
		"greet/greet.go":     "package greet\n\nfunc Hello() {}\n",
	} {
		path := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

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
		file    string
		changes bool
	}{
		{"main.go", true},
		{"greet/greet.go", true},
		{"greet/extra.go", true},
		{"go.mod", true},
		{"go.sum", true},
		{"main_test.go", false},
		{"testdata/case.json", false},
		{"README.md", false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			dir := writeModule(t)
			before := mustHash(t, dir)

			f, err := os.OpenFile(filepath.Join(dir, tt.file), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString("\n// changed\n")
			f.Close()

			if changed := mustHash(t, dir) != before; changed != tt.changes {
				t.Errorf("editing %s changed the hash: %v, want %v", tt.file, changed, tt.changes)
			}
		})
	}
}

// sourceHash covers only the files under the function's directory: the
// function must not import the module's other packages.
func TestFunctionImportsOnlyPackagesUnderItsDirectory(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.ImportPath}}{{end}}{{end}}", "../lambda").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg != "remotion-lambda-iam/lambda" && !strings.HasPrefix(pkg, "remotion-lambda-iam/lambda/") {
			t.Errorf("the function imports %s, outside lambda/: its changes would not change the asset's hash", pkg)
		}
	}
}

// A second synth into the same cloud assembly reuses the staged bootstrap
// rather than building it again; a changed source builds it anew.
func TestSynthReusesTheStagedBootstrap(t *testing.T) {
	fnDir := writeModule(t)
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

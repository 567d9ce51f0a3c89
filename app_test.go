package main

import (
	"debug/elf"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"

	"remotion-lambda-iam/config"
)

// The template itself is specified by the tests in stacks/. These check the
// app around it: what `cdk synth` runs.

// cdkJSON is cdk.json: the app command and the context `cdk synth` passes.
type cdkJSON struct {
	App     string         `json:"app"`
	Context map[string]any `json:"context"`
}

func readCDKJSON(t *testing.T) cdkJSON {
	t.Helper()
	b, err := os.ReadFile("cdk.json")
	if err != nil {
		t.Fatal(err)
	}
	var file cdkJSON
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatalf("cdk.json: %v", err)
	}
	return file
}

// A fork reads the defaults in cdk.json; config.Default is where the code
// keeps them. They must be the same.
func TestCDKJSONStatesTheDefaults(t *testing.T) {
	file := readCDKJSON(t)

	for key, want := range config.Default().Context() {
		got, ok := file.Context[key]
		if !ok {
			t.Errorf("cdk.json has no %s", key)
			continue
		}
		// As JSON, an int and a float64 of the same number are equal.
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("cdk.json %s = %s, config.Default() has %s", key, g, w)
		}
	}
	if file.App != "go run ." {
		t.Errorf(`cdk.json app = %q, want "go run ." (offline: no go mod download)`, file.App)
	}
}

// newApp is the app as `cdk synth` runs it: cdk.json's context, bundling and
// the CloudFormation validator on.
func newApp(t *testing.T, overrides map[string]any) awscdk.App {
	t.Helper()
	ctx := readCDKJSON(t).Context
	for k, v := range overrides {
		ctx[k] = v
	}
	return awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(t.TempDir())})
}

// The one synthesis of the whole app, as `cdk synth` runs it: the function
// is built for real, and the template passes the CloudFormation validator.
func TestAppSynthesizesTheStackWithAnArm64Bootstrap(t *testing.T) {
	app := newApp(t, nil)
	if err := addStack(app); err != nil {
		t.Fatal(err)
	}
	var assembly cxapi.CloudAssembly
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("synthesis failed: %v", r)
			}
		}()
		assembly = app.Synth(nil)
	}()

	stack := assembly.GetStackByName(jsii.String("RemotionRenderStack"))
	b, err := os.ReadFile(*stack.TemplateFullPath())
	if err != nil {
		t.Fatal(err)
	}
	var tmpl struct {
		Resources map[string]struct {
			Type       string
			Properties map[string]any
		}
	}
	json.Unmarshal(b, &tmpl)
	var key string
	for id, r := range tmpl.Resources {
		if r.Type == "AWS::Lambda::Function" && strings.HasPrefix(id, "TriggerFunction") {
			key, _ = r.Properties["Code"].(map[string]any)["S3Key"].(string)
		}
	}
	path := filepath.Join(*assembly.Directory(), "asset."+strings.TrimSuffix(key, ".zip"), "bootstrap")

	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no bootstrap in the function's asset: %v", err)
	}
	if info.Mode().Perm()&0o111 == 0 {
		t.Errorf("bootstrap is not executable: %v", info.Mode())
	}
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("bootstrap is not an ELF binary: %v", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 || f.Type != elf.ET_EXEC || f.OSABI != elf.ELFOSABI_NONE {
		t.Errorf("bootstrap is %v %v %v, want a linux/arm64 executable", f.Machine, f.Type, f.OSABI)
	}
	if f.Section(".symtab") != nil {
		t.Error("bootstrap keeps its symbol table; it should be built with -ldflags \"-s -w\"")
	}
}

// config/ checks every key; this checks that the app stops on what it says.
func TestConfigurationErrorAddsNoStack(t *testing.T) {
	app := newApp(t, map[string]any{config.KeyStackName: "1stack"})

	err := addStack(app)

	if err == nil || !strings.HasPrefix(err.Error(), "context key stackName: ") {
		t.Errorf("err = %v, want one naming stackName", err)
	}
	if n := len(*app.Node().Children()); n != 0 {
		t.Errorf("%d constructs were added to the app", n)
	}
}

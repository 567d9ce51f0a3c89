package main

import (
	"bytes"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maxTrackedFileBytes bounds a tracked file: anything larger is a build
// product or data that belongs elsewhere.
const maxTrackedFileBytes = 1 << 20

// buildProduct says why a file must not be tracked, or "" if it may be.
func buildProduct(path string) string {
	info, err := os.Stat(path)
	if err != nil {
		return err.Error()
	}
	if info.Size() > maxTrackedFileBytes {
		return fmt.Sprintf("%d bytes, over the %d-byte limit for a tracked file", info.Size(), maxTrackedFileBytes)
	}
	if f, err := elf.Open(path); err == nil {
		f.Close()
		return "an ELF executable or object"
	}
	if f, err := macho.Open(path); err == nil {
		f.Close()
		return "a Mach-O binary"
	}
	if f, err := macho.OpenFat(path); err == nil {
		f.Close()
		return "a Mach-O universal binary"
	}
	if f, err := pe.Open(path); err == nil {
		f.Close()
		return "a PE (Windows) binary"
	}
	return ""
}

// A clone is the sources: no binary, nothing a build wrote. `go build` at
// the root, `make render` and `cdk synth` write only ignored paths.
func TestTrackedFilesAreSourcesNotBuildProducts(t *testing.T) {
	if _, err := os.Stat(".git"); err != nil {
		t.Skip("not a git checkout: no tracked files to check")
	}
	out, err := exec.Command("git", "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	files := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if len(files) < 10 {
		t.Fatalf("git ls-files lists %d files; this is not the project's checkout", len(files))
	}
	for _, f := range files {
		if why := buildProduct(f); why != "" {
			t.Errorf("%s is tracked, and is %s: git rm --cached it and add it to .gitignore", f, why)
		}
	}
}

// The check above can fail: this test's own binary is an executable, and a
// large file is too large.
func TestBuildProductsAreRecognized(t *testing.T) {
	if why := buildProduct(os.Args[0]); why == "" {
		t.Errorf("the test binary %s was taken for a source file", os.Args[0])
	}
	big := filepath.Join(t.TempDir(), "data.json")
	if err := os.WriteFile(big, bytes.Repeat([]byte(" "), maxTrackedFileBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if why := buildProduct(big); !strings.Contains(why, "over the") {
		t.Errorf("a file of %d bytes: %q", maxTrackedFileBytes+1, why)
	}
	if why := buildProduct("app.go"); why != "" {
		t.Errorf("app.go: %q", why)
	}
}

// Each side links only what it needs: the CDK app never the function's AWS
// clients, the function never jsii, and the packages both share nothing at all.
func TestPackagesLinkOnlyWhatTheyNeed(t *testing.T) {
	tests := []struct {
		pkg       string
		forbidden []string
	}{
		{".", []string{"github.com/aws/aws-sdk-go-v2/service/", "github.com/aws/aws-lambda-go"}},
		{"./config", []string{"github.com/", "remotion-lambda-iam/stacks"}},
		// The contracts that the stack, the function and the CLI share.
		{"./contract/renderapi", []string{"github.com/"}},
		{"./contract/renderevent", []string{"github.com/"}},
		{"./contract/metrics", []string{"github.com/"}},
		{"./lambda/env", []string{"github.com/"}},
		{"./lambda/remotion/render", []string{"github.com/"}},
		{"./lambda/records/table", []string{"github.com/"}},
		// The OpenAPI libraries are the tests' alone.
		{"./lambda", []string{"github.com/aws/jsii-runtime-go", "github.com/aws/aws-cdk-go", "github.com/aws/constructs-go", "github.com/pb33f/"}},
		{"./cmd/render", []string{"github.com/aws/jsii-runtime-go", "github.com/aws/aws-lambda-go", "github.com/pb33f/"}},
	}
	// One go list for all of them: a line per package, with its dependencies.
	args := []string{"list", "-f", "{{.ImportPath}} {{join .Deps \" \"}}"}
	for _, tt := range tests {
		args = append(args, tt.pkg)
	}
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := map[string][]string{} // by import path
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		deps[fields[0]] = fields[1:]
	}
	for _, tt := range tests {
		pkg := "remotion-lambda-iam" + strings.TrimPrefix(tt.pkg, ".")
		if _, ok := deps[pkg]; !ok {
			t.Errorf("go list printed nothing for %s", pkg)
		}
		for _, dep := range deps[pkg] {
			for _, f := range tt.forbidden {
				if strings.HasPrefix(dep, f) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}

// What the README's, the Makefile's and CI's commands write is ignored, so
// that it cannot be committed by accident.
func TestBuildOutputIsIgnored(t *testing.T) {
	if _, err := os.Stat(".git"); err != nil {
		t.Skip("not a git checkout")
	}
	for _, path := range []string{
		"remotion-lambda-iam",   // go build
		"render",                // make render, go build ./cmd/render
		"cdk.out/manifest.json", // cdk synth
		"lambda/bootstrap",      // the function built by hand, as lambda/main.go says
		"node_modules/aws-cdk/package.json",
		"cpu.prof",
		"coverage.out",
		"stacks.test",
	} {
		if err := exec.Command("git", "check-ignore", "-q", "--no-index", path).Run(); err != nil {
			t.Errorf("%s is not ignored by .gitignore", path)
		}
	}
}

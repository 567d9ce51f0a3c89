package stacks

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/jsii-runtime-go"
)

// buildFlags build the bootstrap as provided.al2023 runs it: no RPC
// entrypoint, reproducible, stripped.
var buildFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w"}

// buildEnv targets Lambda's arm64 runtime with a static binary.
var buildEnv = []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0"}

// goFunctionCode is the trigger function's code: its main package in dir,
// compiled on this machine during synthesis into a linux/arm64 bootstrap.
func goFunctionCode(dir string) awslambda.Code {
	hash, err := sourceHash(dir)
	if err != nil {
		panic(fmt.Errorf("hash the trigger function's sources in %s: %w", dir, err))
	}
	return awslambda.Code_FromAsset(jsii.String(dir), &awss3assets.AssetOptions{
		// The hash of what decides the binary names the asset, so that the
		// CDK reuses a staged bootstrap (in cdk.out) instead of building it
		// again on every synth, and a deployment changes the function only
		// when its sources did.
		AssetHash: jsii.String(hash),
		Bundling: &awscdk.BundlingOptions{
			// Required by the API, never pulled: the local build either
			// succeeds or fails synthesis, it does not fall back to Docker.
			Image: awscdk.DockerImage_FromRegistry(jsii.String("public.ecr.aws/docker/library/golang:1")),
			Local: &goBuild{dir: dir},
		},
	})
}

// sourceHash hashes what decides the bootstrap binary: the Go files of the
// packages under dir (tests and testdata aside), the module's go.mod and
// go.sum, the Go release and the build settings. The function's packages all
// live under dir; a test keeps it so.
func sourceHash(dir string) (string, error) {
	h := sha256.New()
	fmt.Fprintln(h, runtime.Version(), buildFlags, buildEnv)
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	module, err := moduleRoot(dir)
	if err != nil {
		return "", err
	}
	files := []string{filepath.Join(module, "go.mod"), filepath.Join(module, "go.sum")}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && path != dir && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")):
			return filepath.SkipDir
		case !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go"):
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	for _, path := range files {
		if err := hashFile(h, module, path); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashFile adds a file's path, relative to the module, and its content.
func hashFile(h io.Writer, module, path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) && filepath.Base(path) == "go.sum" {
		return nil // a module without dependencies has none
	}
	if err != nil {
		return err
	}
	defer f.Close()
	rel, err := filepath.Rel(module, path)
	if err != nil {
		return err
	}
	fmt.Fprintf(h, "%s\x00", filepath.ToSlash(rel))
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		return err
	}
	_, err = h.Write(sum.Sum(nil))
	return err
}

// moduleRoot is the nearest directory at or above dir, an absolute path,
// that holds a go.mod.
func moduleRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod at or above %s", dir)
		}
	}
}

// goBuild implements awscdk.ILocalBundling; jsii calls it back from the CDK.
type goBuild struct {
	dir string
}

// TryBundle builds the bootstrap binary into outputDir. A failed build panics,
// which jsii turns into an error that fails synthesis with the compiler's
// message.
func (b *goBuild) TryBundle(outputDir *string, _ *awscdk.BundlingOptions) *bool {
	args := append([]string{"build"}, buildFlags...)
	args = append(args, "-o", filepath.Join(*outputDir, "bootstrap"), ".")
	cmd := exec.Command("go", args...)
	cmd.Dir = b.dir
	cmd.Env = append(os.Environ(), buildEnv...)
	if out, err := cmd.CombinedOutput(); err != nil {
		panic(fmt.Errorf("build the trigger function in %s: %v\n%s", b.dir, err, out))
	}
	return jsii.Bool(true)
}

package stacks

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
// The asset is named by sourceHash, so the bootstrap is built again exactly
// when something the build reads has changed.
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

// sourceHash hashes what decides the bootstrap binary built from dir. The go
// command, asked with the build's own environment and flags so that build
// constraints pick the same files, says which packages the build reads:
//   - a package on disk (the main module's, or a module replaced by a
//     directory) by its files, embedded ones included, and its module's
//     go.mod and go.sum;
//   - a package of another module by the module's version, which go.sum pins;
//   - a standard library package by the Go release that builds.
//
// Tests, testdata and files for other platforms are not read, so they do not
// change the hash.
func sourceHash(dir string) (string, error) {
	version, err := goCommand(dir, "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %w", commandError(err))
	}
	h := sha256.New()
	fmt.Fprintln(h, strings.TrimSpace(string(version)), buildFlags, buildEnv)

	args := append([]string{"list", "-deps", "-json=" + strings.Join(listedFields, ",")}, buildFlags...)
	out, err := goCommand(dir, append(args, ".")...).Output()
	if err != nil {
		return "", fmt.Errorf("go list: %w", commandError(err))
	}
	hashed := map[string]bool{} // directories of modules whose go.mod is hashed
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		err := dec.Decode(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("go list: %w", err)
		}
		if err := p.hash(h, hashed); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// listedPackage is what sourceHash reads of a package printed by go list.
type listedPackage struct {
	Dir        string
	ImportPath string
	Standard   bool
	Module     *listedModule

	GoFiles, CgoFiles, CFiles, CXXFiles, MFiles, HFiles, FFiles, SFiles []string
	SwigFiles, SwigCXXFiles, SysoFiles, EmbedFiles                      []string
}

type listedModule struct {
	Path, Version, Dir string
	Main               bool
	Replace            *struct{ Path, Version string }
}

// listedFields are the fields of listedPackage: go list computes no others,
// which makes it several times faster.
var listedFields = []string{
	"Dir", "ImportPath", "Standard", "Module",
	"GoFiles", "CgoFiles", "CFiles", "CXXFiles", "MFiles", "HFiles", "FFiles", "SFiles",
	"SwigFiles", "SwigCXXFiles", "SysoFiles", "EmbedFiles",
}

// hash adds to h what of p decides the binary. hashed holds the directories
// of the modules whose go.mod and go.sum are already added.
func (p *listedPackage) hash(h io.Writer, hashed map[string]bool) error {
	m := p.Module
	switch {
	case p.Standard:
		return nil // the Go release covers it
	case m == nil:
		return fmt.Errorf("package %s is not in a module", p.ImportPath)
	case !m.onDisk():
		// go.sum pins what a module's version holds.
		fmt.Fprintln(h, p.ImportPath, m.Path, m.Version)
		if r := m.Replace; r != nil {
			fmt.Fprintln(h, "=>", r.Path, r.Version)
		}
		return nil
	}
	// Nothing pins files on disk but their content.
	fmt.Fprintln(h, p.ImportPath, m.Path)
	if !hashed[m.Dir] {
		hashed[m.Dir] = true
		for _, name := range []string{"go.mod", "go.sum"} {
			if err := hashFile(h, m.Dir, filepath.Join(m.Dir, name)); err != nil {
				return err
			}
		}
	}
	for _, name := range slices.Concat(p.GoFiles, p.CgoFiles, p.CFiles, p.CXXFiles, p.MFiles, p.HFiles, p.FFiles, p.SFiles,
		p.SwigFiles, p.SwigCXXFiles, p.SysoFiles, p.EmbedFiles) {
		if err := hashFile(h, m.Dir, filepath.Join(p.Dir, name)); err != nil {
			return err
		}
	}
	return nil
}

// onDisk reports whether the build reads the module from a directory rather
// than from the module cache: the main module, or one replaced by a directory
// (a replacement without a version).
func (m *listedModule) onDisk() bool {
	return m.Main || m.Replace != nil && m.Replace.Version == ""
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

// goCommand runs the go command in dir as the build does, so that what it
// reports about the build holds for the build.
func goCommand(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), buildEnv...)
	return cmd
}

// commandError adds the go command's own message to its exit status.
func commandError(err error) error {
	var exit *exec.ExitError
	if errors.As(err, &exit) && len(exit.Stderr) > 0 {
		return fmt.Errorf("%w\n%s", err, bytes.TrimSpace(exit.Stderr))
	}
	return err
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
	if out, err := goCommand(b.dir, args...).CombinedOutput(); err != nil {
		panic(fmt.Errorf("build the trigger function in %s: %v\n%s", b.dir, err, out))
	}
	return jsii.Bool(true)
}

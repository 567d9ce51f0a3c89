package stacks

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/jsii-runtime-go"
)

// goFunctionCode is the trigger function's code: its main package in dir,
// compiled on this machine during synthesis into a linux/arm64 bootstrap.
func goFunctionCode(dir string) awslambda.Code {
	return awslambda.Code_FromAsset(jsii.String(dir), &awss3assets.AssetOptions{
		// The binary, not the source tree, decides whether the function
		// changed; Go builds with -trimpath are reproducible.
		AssetHashType: awscdk.AssetHashType_OUTPUT,
		Bundling: &awscdk.BundlingOptions{
			// Required by the API, never pulled: the local build either
			// succeeds or fails synthesis, it does not fall back to Docker.
			Image: awscdk.DockerImage_FromRegistry(jsii.String("public.ecr.aws/docker/library/golang:1")),
			Local: &goBuild{dir: dir},
		},
	})
}

// goBuild implements awscdk.ILocalBundling; jsii calls it back from the CDK.
type goBuild struct {
	dir string
}

// TryBundle builds the bootstrap binary into outputDir. A failed build panics,
// which jsii turns into an error that fails synthesis with the compiler's
// message.
func (b *goBuild) TryBundle(outputDir *string, _ *awscdk.BundlingOptions) *bool {
	cmd := exec.Command("go", "build",
		"-tags", "lambda.norpc",
		"-trimpath",
		"-buildvcs=false",
		"-ldflags", "-s -w",
		"-o", filepath.Join(*outputDir, "bootstrap"),
		".")
	cmd.Dir = b.dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		panic(fmt.Errorf("build the trigger function in %s: %v\n%s", b.dir, err, out))
	}
	return jsii.Bool(true)
}

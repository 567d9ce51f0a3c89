// Command remotion-lambda-iam is the CDK app: it reads the deployment's
// configuration from CDK context and synthesizes the stack.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"remotion-lambda-iam/config"
	"remotion-lambda-iam/stacks"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "configuration error:", err)
		os.Exit(1)
	}
}

func run() error {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	if err := addStack(app); err != nil {
		return err
	}
	app.Synth(nil)
	return nil
}

// addStack adds the stack that app's context configures.
func addStack(app awscdk.App) error {
	cfg, err := config.Load(contextOf(app))
	if err != nil {
		return err
	}
	stacks.NewRemotionRenderStack(app, cfg.StackName, &stacks.RemotionRenderStackProps{
		StackProps: awscdk.StackProps{
			Description: jsii.String("Renders Remotion videos from AWS compute with IAM roles instead of long-term keys"),
		},
		Config:      cfg,
		FunctionDir: "lambda",
	})
	return nil
}

// contextOf reads all of app's context in one call to the CDK, rather than
// one per key.
func contextOf(app awscdk.App) func(key string) any {
	all, _ := app.Node().GetAllContext(nil).(map[string]any)
	return func(key string) any { return all[key] }
}

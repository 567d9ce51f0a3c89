// Package stacks holds the CloudFormation stack that lets AWS compute render
// Remotion videos with an IAM role instead of long-term keys.
package stacks

import (
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"remotion-lambda-iam/lambda/env"
	"remotion-lambda-iam/policies"
)

// RenderConfig is what a deployment decides. app.go reads it from CDK context
// and validates it; the stack trusts it.
type RenderConfig struct {
	// RemotionFunctionName is the deployed Remotion render function.
	RemotionFunctionName string
	// RemotionRegion is the render function's region; empty means the stack's.
	RemotionRegion string
	// RemotionVersion is the Remotion version the render function runs.
	RemotionVersion string
	// ServeURL is the site rendered when a request names none; may be empty.
	ServeURL string
	// ServeURLAllowList holds the patterns a request's serveUrl must match.
	ServeURLAllowList []string
	// ExecutionPolicyName names the customer-managed policy; unique per account.
	ExecutionPolicyName string
	// LogRetention applies to the function's log group.
	LogRetention awslogs.RetentionDays
	// OutputBucket, if any, receives every render.
	OutputBucket OutputBucketConfig
}

// RemotionRenderStackProps configures a RemotionRenderStack.
type RemotionRenderStackProps struct {
	awscdk.StackProps
	Render RenderConfig
	Access AccessConfig
	// FunctionDir is the directory of the trigger function's main package,
	// built into the function's bootstrap binary during synthesis.
	FunctionDir string
}

// Function settings. Memory: the function only encodes JSON and makes two
// HTTPS calls, and 256 MB gives it enough CPU to answer in milliseconds.
// Timeout: below the 30 s an API Gateway integration waits, so that a slow
// render function gets a JSON 504 from the function, not a bare 503.
const (
	functionMemoryMB       = 256
	functionTimeoutSeconds = 28
)

// NewRemotionRenderStack creates the managed policy, the execution role, the
// trigger function, its HTTP API and, if configured, the output bucket.
func NewRemotionRenderStack(scope constructs.Construct, id string, props *RemotionRenderStackProps) awscdk.Stack {
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	cfg := props.Render

	document, err := policies.ExecutionRoleDocument()
	if err != nil {
		panic(err) // the embedded file is checked by tests; this is a broken build
	}
	executionPolicy := awsiam.NewManagedPolicy(stack, jsii.String("ExecutionPolicy"), &awsiam.ManagedPolicyProps{
		ManagedPolicyName: jsii.String(cfg.ExecutionPolicyName),
		Description:       jsii.String("Lets a role call renderMediaOnLambda() and getRenderProgress(), as Remotion documents"),
		Document:          document,
	})
	accept(executionPolicy, executionPolicyFindings...)

	role := awsiam.NewRole(stack, jsii.String("ExecutionRole"), &awsiam.RoleProps{
		AssumedBy:       awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description:     jsii.String("Execution role of the Remotion trigger function: temporary credentials, no stored keys"),
		ManagedPolicies: &[]awsiam.IManagedPolicy{executionPolicy},
	})

	logGroup := awslogs.NewLogGroup(stack, jsii.String("TriggerFunctionLogs"), &awslogs.LogGroupProps{
		Retention:     cfg.LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	logGroup.GrantWrite(role)

	region := cfg.RemotionRegion
	if region == "" {
		region = *stack.Region()
	}
	environment := map[string]*string{
		env.FunctionName:        jsii.String(cfg.RemotionFunctionName),
		env.Region:              jsii.String(region),
		env.Version:             jsii.String(cfg.RemotionVersion),
		env.ServeURL:            jsii.String(cfg.ServeURL),
		env.ServeURLAllowList:   jsii.String(strings.Join(cfg.ServeURLAllowList, ",")),
		env.MaxRequestBodyBytes: jsii.String(strconv.Itoa(props.Access.MaxRequestBodyBytes)),
	}
	if bucket := newOutputBucket(stack, cfg.OutputBucket, role); bucket != nil {
		environment[env.OutputBucket] = bucket.BucketName()
	}

	fn := awslambda.NewFunction(stack, jsii.String("TriggerFunction"), &awslambda.FunctionProps{
		Description:   jsii.String("Starts renders on " + cfg.RemotionFunctionName + " and reports their progress"),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Code:          goFunctionCode(props.FunctionDir),
		Role:          role,
		MemorySize:    jsii.Number(functionMemoryMB),
		Timeout:       awscdk.Duration_Seconds(jsii.Number(functionTimeoutSeconds)),
		LogGroup:      logGroup,
		LoggingFormat: awslambda.LoggingFormat_JSON,
		Environment:   &environment,

		ReservedConcurrentExecutions: reservedConcurrency(props.Access.ReservedConcurrency),
	})

	api := newHTTPAPI(stack, fn, props.Access, cfg.LogRetention)

	output(stack, "ApiUrl", api.ApiEndpoint(), "Base URL of the render API: POST /renders, GET /renders/{renderId}", "")
	output(stack, "ExecutionPolicyArn", executionPolicy.ManagedPolicyArn(),
		"ARN of "+cfg.ExecutionPolicyName+": attach it to an EC2 instance role or a Fargate task role to render from there", *stack.StackName()+"-ExecutionPolicyArn")
	output(stack, "ExecutionRoleArn", role.RoleArn(), "ARN of the trigger function's execution role", "")
	output(stack, "FunctionName", fn.FunctionName(), "Name of the trigger function", "")
	return stack
}

// reservedConcurrency is nil, unreserved, for zero: new accounts have no
// concurrency to reserve.
func reservedConcurrency(n int) *float64 {
	if n <= 0 {
		return nil
	}
	return jsii.Number(n)
}

func output(stack awscdk.Stack, id string, value *string, description, exportName string) {
	props := &awscdk.CfnOutputProps{Value: value, Description: jsii.String(description)}
	if exportName != "" {
		props.ExportName = jsii.String(exportName)
	}
	awscdk.NewCfnOutput(stack, jsii.String(id), props)
}

// RetentionDays maps a number of days to the log retention CloudWatch
// accepts for it.
var RetentionDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

// Package stacks holds the CloudFormation stack that lets AWS compute render
// Remotion videos with an IAM role instead of long-term keys. It reads
// top-down in the order of Remotion's IAM-roles guide: the policy, the role,
// the output bucket, then the function and its API.
package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"remotion-lambda-iam/config"
)

// RemotionRenderStackProps configures a RemotionRenderStack.
type RemotionRenderStackProps struct {
	awscdk.StackProps
	// Config is the deployment, as config.Load read and checked it.
	Config config.Config
	// FunctionDir is the directory of the trigger function's main package,
	// built into the function's bootstrap binary during synthesis.
	FunctionDir string
}

// NewRemotionRenderStack creates the managed policy, the execution role, the
// output bucket if one is configured, the render table and what the queue
// needs if they are, the trigger function, its alarms, its HTTP API and,
// with records, the dashboard.
func NewRemotionRenderStack(scope constructs.Construct, id string, props *RemotionRenderStackProps) awscdk.Stack {
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	cfg := props.Config

	policy := newExecutionPolicy(stack, cfg.ExecutionPolicyName)
	role := newExecutionRole(stack, policy)
	bucket := newOutputBucket(stack, cfg.OutputBucket, role)
	var renders awsdynamodb.ITable
	var hooks *webhooks
	var notifications awssns.ITopic // nil without notifyEmail
	if cfg.Records.Tracking {
		renders = newRenderTable(stack, role)
		w := newWebhooks(stack, cfg.Records, role)
		hooks = &w
		if cfg.Records.NotifyEmail != "" {
			notifications = newRenderEmails(stack, w.bus, cfg.Records.NotifyEmail)
		}
	}
	fn := newTriggerFunction(stack, triggerFunctionProps{
		config:   cfg,
		role:     role,
		bucket:   bucket,
		table:    renders,
		webhooks: hooks,
		dir:      props.FunctionDir,
	})
	if queueOn(cfg.Records) {
		newRenderQueue(stack, role, fn)
	}
	newPanicAlarm(stack, fn, notifications)
	api := newHTTPAPI(stack, fn, cfg.API, cfg.Records, cfg.LogRetentionDays)
	var dashboard awscloudwatch.Dashboard
	if cfg.Records.Tracking {
		var spendAlarm awscloudwatch.Alarm // nil without monthlySpendLimit
		if cfg.Records.Spend.HasMonthlyLimit() {
			spendAlarm = newSpendAlarm(stack, fn, cfg.Records.Spend, notifications)
		}
		dashboard = newDashboard(stack, fn, api, cfg.Records, spendAlarm)
	}

	awscdk.NewCfnOutput(stack, jsii.String("ApiUrl"), &awscdk.CfnOutputProps{
		Value:       api.ApiEndpoint(),
		Description: jsii.String("Base URL of the render API: POST /renders, GET /renders/{renderId}"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("ExecutionPolicyArn"), &awscdk.CfnOutputProps{
		Value:       policy.ManagedPolicyArn(),
		Description: jsii.String("ARN of " + cfg.ExecutionPolicyName + ": attach it to an EC2 instance role or a Fargate task role to render from there"),
		ExportName:  jsii.String(*stack.StackName() + "-ExecutionPolicyArn"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("ExecutionRoleArn"), &awscdk.CfnOutputProps{
		Value:       role.RoleArn(),
		Description: jsii.String("ARN of the trigger function's execution role"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("FunctionName"), &awscdk.CfnOutputProps{
		Value:       fn.FunctionName(),
		Description: jsii.String("Name of the trigger function"),
	})
	if bucket != nil {
		awscdk.NewCfnOutput(stack, jsii.String("OutputBucketName"), &awscdk.CfnOutputProps{
			Value:       bucket.BucketName(),
			Description: jsii.String("Bucket the renders are written to"),
		})
	}
	if renders != nil {
		awscdk.NewCfnOutput(stack, jsii.String("RenderTableName"), &awscdk.CfnOutputProps{
			Value:       renders.TableName(),
			Description: jsii.String("DynamoDB table of render records and idempotency keys"),
		})
		awscdk.NewCfnOutput(stack, jsii.String("WebhookSecretArn"), &awscdk.CfnOutputProps{
			Value:       hooks.secret.SecretArn(),
			Description: jsii.String("Secret that signs Remotion's completion webhooks: put a new value to rotate it (see the README)"),
		})
	}
	if dashboard != nil {
		awscdk.NewCfnOutput(stack, jsii.String("DashboardUrl"), &awscdk.CfnOutputProps{
			Value:       dashboardURL(dashboard),
			Description: jsii.String("CloudWatch dashboard of the renders, their cost, the queue and the errors"),
		})
	}

	if cfg.Nag {
		checkWithCdkNag(stack)
	}
	return stack
}

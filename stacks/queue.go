package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"remotion-lambda-iam/config"
)

// queueSweepMinutes is how often the schedule has the function start the
// renders that wait in line.
const queueSweepMinutes = 1

// accountSettingsFinding is why the role may read the account's Lambda
// settings on any resource.
var accountSettingsFinding = finding{"AwsSolutions-IAM5", "Resource::*",
	"lambda:GetAccountSettings supports no resource-level restriction; it only reads the account's concurrency limit and unreserved concurrency, from which the function sets the renders' budget unless renderConcurrencyBudget sets one, and it is the only action this policy grants on *."}

// queueOn reports whether renders wait their turn: config.Load turns the
// queue off without records, and the stack holds to that too.
func queueOn(records config.Records) bool { return records.Tracking && records.Queue.Enabled }

// newRenderQueue is what the admission queue needs besides the function's
// own code, which keeps the line in the render table: the right to read the
// account's Lambda concurrency, from which the function sets the renders'
// budget, and a schedule (the sweeper) that invokes the function every
// minute, so that renders waiting in line start once capacity is given back
// even when no request or webhook arrives. The function tells its
// scheduled event by EventBridge's own source and detail-type.
func newRenderQueue(scope constructs.Construct, role awsiam.IRole, fn awslambda.IFunction) awsevents.Rule {
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("lambda:GetAccountSettings"),
		Resources: jsii.Strings("*"),
	}))
	accept(role.Node().FindChild(jsii.String("DefaultPolicy")), accountSettingsFinding)

	sweeper := awsevents.NewRule(scope, jsii.String("RenderQueueSweeper"), &awsevents.RuleProps{
		Description: jsii.String("Every minute, invokes the trigger function to start the renders waiting in line that fit the concurrency budget"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(queueSweepMinutes))),
	})
	sweeper.AddTarget(awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
		// A sweep that cannot be delivered within the minute is superseded
		// by the next one: retrying it only adds invocations.
		MaxEventAge:   awscdk.Duration_Minutes(jsii.Number(queueSweepMinutes)),
		RetryAttempts: jsii.Number(0),
	}))
	return sweeper
}

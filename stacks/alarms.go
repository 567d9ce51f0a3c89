package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"remotion-lambda-iam/contract/metrics"
)

// panicAlarmPeriodMinutes is the window the alarm sums panics over.
const panicAlarmPeriodMinutes = 5

// newPanicAlarm alarms when the function recovers a panic: the function
// counts each one in its logs, as metrics.Panics, and one in five minutes is
// a bug to look at. Minutes without a panic have no data, and are fine. With
// topic, the alarm notifies it, when it goes off and when it clears.
func newPanicAlarm(scope constructs.Construct, fn awslambda.IFunction, topic awssns.ITopic) awscloudwatch.Alarm {
	panics := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String(metrics.Namespace),
		MetricName:    jsii.String(metrics.Panics),
		DimensionsMap: &map[string]*string{metrics.DimensionFunctionName: fn.FunctionName()},
		Statistic:     awscloudwatch.Stats_SUM(),
		Period:        awscdk.Duration_Minutes(jsii.Number(panicAlarmPeriodMinutes)),
	})
	alarm := awscloudwatch.NewAlarm(scope, jsii.String("PanicAlarm"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("The trigger function recovered from a panic and answered 500: a bug. " +
			"Its logs hold the stack, on the line with errorCode internal_error and the same awsRequestId as the Panics metric line."),
		Metric:             panics,
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	if topic != nil {
		action := awscloudwatchactions.NewSnsAction(topic)
		alarm.AddAlarmAction(action)
		alarm.AddOkAction(action)
		// The topic has a policy of its own, which replaces SNS's default
		// one: it must let this alarm publish.
		topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
			Actions:    jsii.Strings("sns:Publish"),
			Resources:  jsii.Strings(*topic.TopicArn()),
			Conditions: &map[string]any{
				"ArnEquals": map[string]any{"aws:SourceArn": alarm.AlarmArn()},
			},
		}))
	}
	return alarm
}

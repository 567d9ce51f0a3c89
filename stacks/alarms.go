package stacks

import (
	"fmt"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"remotion-lambda-iam/config"
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
	notify(alarm, topic)
	return alarm
}

// spendAlarmPeriodDays is the window the spend alarm sums render costs
// over.
const spendAlarmPeriodDays = 1

// newSpendAlarm alarms when what the renders that ended in a day cost
// passes spend.AlarmShare of the monthly limit: at that pace the limit is
// reached within the month, and the function would then refuse every
// start until the next. The cost is what Remotion estimated, which the
// function writes as metrics.RenderCost when a render ends. Days without
// a render have no data, and are fine. With topic, the alarm notifies it.
func newSpendAlarm(scope constructs.Construct, fn awslambda.IFunction, spend config.Spend, topic awssns.ITopic) awscloudwatch.Alarm {
	alarm := awscloudwatch.NewAlarm(scope, jsii.String("SpendAlarm"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String(fmt.Sprintf("Renders that ended in one day cost more than %s USD, %s (spendAlarmShare) of the monthly spend limit of %s USD (monthlySpendLimit): "+
			"at that pace the limit is reached before the month ends, and then every start is refused until the next. "+
			"GET /renders/all/costs says who spent it.", strconv.FormatFloat(spend.AlarmThreshold(), 'f', -1, 64), spend.AlarmShare, spend.MonthlyLimit)),
		Metric:             renderCostPerDay(fn),
		Threshold:          jsii.Number(spend.AlarmThreshold()),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	notify(alarm, topic)
	return alarm
}

// renderCostPerDay is what the renders that ended cost, in USD, summed by
// day.
func renderCostPerDay(fn awslambda.IFunction) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String(metrics.Namespace),
		MetricName:    jsii.String(metrics.RenderCost),
		DimensionsMap: &map[string]*string{metrics.DimensionFunctionName: fn.FunctionName()},
		Statistic:     awscloudwatch.Stats_SUM(),
		Period:        awscdk.Duration_Days(jsii.Number(spendAlarmPeriodDays)),
	})
}

// notify has alarm notify topic, if any, when it goes off and when it
// clears.
func notify(alarm awscloudwatch.Alarm, topic awssns.ITopic) {
	if topic == nil {
		return
	}
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

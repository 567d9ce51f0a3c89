package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"remotion-lambda-iam/config"
	"remotion-lambda-iam/contract/metrics"
)

// The dashboard's layout: two graphs a row, of the 24 columns a dashboard
// has.
const (
	widgetWidth  = 12
	widgetHeight = 6
)

// outcomes are the values of metrics.DimensionOutcome, as the function
// writes them when a render ends.
var outcomes = []string{"done", "failed", "cancelled"}

// newDashboard shows what the function's metrics say: the renders that
// ended, by outcome, and what they cost; the function's and the API's
// errors; and, with the queue, the line, the capacity the renders hold and
// how long they waited. Every metric of the function's is by its name,
// as the function writes it. With spendAlarm, the cost graph shows the
// alarm's threshold.
func newDashboard(scope constructs.Construct, fn awslambda.IFunction, api awsapigatewayv2.HttpApi, records config.Records,
	spendAlarm awscloudwatch.Alarm) awscloudwatch.Dashboard {
	dashboard := awscloudwatch.NewDashboard(scope, jsii.String("Dashboard"), nil)

	var byOutcome []awscloudwatch.IMetric
	for _, outcome := range outcomes {
		byOutcome = append(byOutcome, functionMetric(fn, metrics.Renders, awscloudwatch.Stats_SUM(), awscdk.Duration_Hours(jsii.Number(1)),
			outcome, map[string]*string{metrics.DimensionOutcome: jsii.String(outcome)}))
	}
	cost := &awscloudwatch.GraphWidgetProps{
		Title:     jsii.String("Cost per day (USD, Remotion's estimate, by the day renders ended)"),
		Left:      &[]awscloudwatch.IMetric{renderCostPerDay(fn).With(&awscloudwatch.MetricOptions{Label: jsii.String("Cost")})},
		LeftYAxis: &awscloudwatch.YAxisProps{Min: jsii.Number(0), ShowUnits: jsii.Bool(false)},
		Start:     jsii.String("-P30D"),
		Width:     jsii.Number(widgetWidth), Height: jsii.Number(widgetHeight),
	}
	if spendAlarm != nil {
		cost.LeftAnnotations = &[]*awscloudwatch.HorizontalAnnotation{{
			Value: jsii.Number(records.Spend.AlarmThreshold()),
			Label: jsii.String("Spend alarm: " + records.Spend.AlarmShare + " × monthlySpendLimit"),
		}}
	}
	dashboard.AddWidgets(
		awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title:     jsii.String("Renders per hour, by outcome"),
			Left:      &byOutcome,
			LeftYAxis: &awscloudwatch.YAxisProps{Min: jsii.Number(0), ShowUnits: jsii.Bool(false)},
			Stacked:   jsii.Bool(true),
			Start:     jsii.String("-P7D"),
			Width:     jsii.Number(widgetWidth), Height: jsii.Number(widgetHeight),
		}),
		awscloudwatch.NewGraphWidget(cost),
	)

	fiveMinutes := awscdk.Duration_Minutes(jsii.Number(5))
	errors := &awscloudwatch.MetricOptions{Statistic: awscloudwatch.Stats_SUM(), Period: fiveMinutes}
	dashboard.AddWidgets(awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
		Title: jsii.String("Errors per 5 minutes"),
		Left: &[]awscloudwatch.IMetric{
			fn.MetricErrors(withLabel(errors, "Function errors")),
			fn.MetricThrottles(withLabel(errors, "Function throttled")),
			functionMetric(fn, metrics.Panics, awscloudwatch.Stats_SUM(), fiveMinutes, "Panics", nil),
			api.MetricServerError(withLabel(errors, "API 5xx")),
		},
		LeftYAxis: &awscloudwatch.YAxisProps{Min: jsii.Number(0), ShowUnits: jsii.Bool(false)},
		Width:     jsii.Number(widgetWidth), Height: jsii.Number(widgetHeight),
	}))

	// The queue's row comes last, so that without the queue the dashboard
	// is the same but for it.
	if queueOn(records) {
		minute := awscdk.Duration_Minutes(jsii.Number(1))
		dashboard.AddWidgets(
			awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
				Title: jsii.String("Queue: renders waiting, and the Lambda executions renders hold, of the budget"),
				Left: &[]awscloudwatch.IMetric{
					functionMetric(fn, metrics.QueueDepth, awscloudwatch.Stats_MAXIMUM(), minute, "Waiting", nil),
					functionMetric(fn, metrics.CapacityInUse, awscloudwatch.Stats_MAXIMUM(), minute, "Capacity in use", nil),
					functionMetric(fn, metrics.Budget, awscloudwatch.Stats_MAXIMUM(), minute, "Budget", nil),
				},
				LeftYAxis: &awscloudwatch.YAxisProps{Min: jsii.Number(0), ShowUnits: jsii.Bool(false)},
				Width:     jsii.Number(widgetWidth), Height: jsii.Number(widgetHeight),
			}),
			awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
				Title: jsii.String("Time in line, and starts Lambda throttled"),
				Left: &[]awscloudwatch.IMetric{
					functionMetric(fn, metrics.WaitTime, awscloudwatch.Stats_P(jsii.Number(50)), fiveMinutes, "Wait p50", nil),
					functionMetric(fn, metrics.WaitTime, awscloudwatch.Stats_P(jsii.Number(95)), fiveMinutes, "Wait p95", nil),
				},
				Right: &[]awscloudwatch.IMetric{
					functionMetric(fn, metrics.Throttles, awscloudwatch.Stats_SUM(), fiveMinutes, "Throttled starts", nil),
				},
				LeftYAxis:  &awscloudwatch.YAxisProps{Min: jsii.Number(0), Label: jsii.String("ms")},
				RightYAxis: &awscloudwatch.YAxisProps{Min: jsii.Number(0), ShowUnits: jsii.Bool(false)},
				Width:      jsii.Number(widgetWidth), Height: jsii.Number(widgetHeight),
			}),
		)
	}
	return dashboard
}

// functionMetric is one of the metrics the function writes, by its name
// and the extra dimensions, if any.
func functionMetric(fn awslambda.IFunction, name string, statistic *string, period awscdk.Duration, label string,
	dimensions map[string]*string) awscloudwatch.Metric {
	dims := map[string]*string{metrics.DimensionFunctionName: fn.FunctionName()}
	for k, v := range dimensions {
		dims[k] = v
	}
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String(metrics.Namespace),
		MetricName:    jsii.String(name),
		DimensionsMap: &dims,
		Statistic:     statistic,
		Period:        period,
		Label:         jsii.String(label),
	})
}

// withLabel is options with a label.
func withLabel(options *awscloudwatch.MetricOptions, label string) *awscloudwatch.MetricOptions {
	o := *options
	o.Label = jsii.String(label)
	return &o
}

// dashboardURL is the dashboard's page in the CloudWatch console.
func dashboardURL(dashboard awscloudwatch.Dashboard) *string {
	region := awscdk.Aws_REGION()
	return jsii.String("https://" + *region + ".console.aws.amazon.com/cloudwatch/home?region=" + *region +
		"#dashboards/dashboard/" + *dashboard.DashboardName())
}

package stacks

import (
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"remotion-lambda-iam/config"
	"remotion-lambda-iam/lambda/env"
)

// functionMemoryMB: the function only encodes JSON and makes a few HTTPS
// calls, and 256 MB gives it enough CPU to answer in milliseconds. Its
// timeout is env.FunctionTimeout.
const functionMemoryMB = 256

type triggerFunctionProps struct {
	config   config.Config
	role     awsiam.IRole
	bucket   awss3.IBucket      // nil without an output bucket
	table    awsdynamodb.ITable // nil without render tracking
	webhooks *webhooks          // nil without render tracking
	dir      string             // the function's main package
}

// newTriggerFunction is the function of the guide's prerequisites: it starts
// renders on the Remotion render function and reports their progress, as
// the execution role, and writes its logs to a group of its own.
func newTriggerFunction(scope constructs.Construct, props triggerFunctionProps) awslambda.Function {
	cfg := props.config
	logGroup := awslogs.NewLogGroup(scope, jsii.String("TriggerFunctionLogs"), &awslogs.LogGroupProps{
		Retention:     retention(cfg.LogRetentionDays),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	logGroup.GrantWrite(props.role)

	region := cfg.Remotion.Region
	if region == "" {
		region = *awscdk.Stack_Of(scope).Region()
	}
	environment := map[string]*string{
		env.FunctionName:        jsii.String(cfg.Remotion.FunctionName),
		env.Region:              jsii.String(region),
		env.Version:             jsii.String(cfg.Remotion.Version),
		env.ServeURL:            jsii.String(cfg.Remotion.ServeURL),
		env.ServeURLAllowList:   jsii.String(strings.Join(cfg.Remotion.ServeURLAllowList, ",")),
		env.MaxRequestBodyBytes: jsii.String(strconv.Itoa(cfg.API.MaxRequestBodyBytes)),
		env.ExecutionPolicyName: jsii.String(cfg.ExecutionPolicyName),
	}
	if props.bucket != nil {
		environment[env.OutputBucket] = props.bucket.BucketName()
	}
	if props.table != nil {
		environment[env.RenderTable] = props.table.TableName()
		environment[env.RenderRecordDays] = jsii.String(strconv.Itoa(cfg.Records.Days))
		// The ledger is in the render table: its limits are off without it.
		s := cfg.Records.Spend
		environment[env.EstimatedCostPerRender] = jsii.String(s.EstimatedCostPerRender)
		if s.HasDailyLimit() {
			environment[env.DailySpendLimit] = jsii.String(s.DailyLimit)
		}
		if s.HasMonthlyLimit() {
			environment[env.MonthlySpendLimit] = jsii.String(s.MonthlyLimit)
		}
	}
	if q := cfg.Records.Queue; props.table != nil && queueOn(cfg.Records) {
		environment[env.RenderQueue] = jsii.String("true")
		environment[env.RenderConcurrencyBudget] = jsii.String(strconv.Itoa(q.ConcurrencyBudget))
		environment[env.DefaultRenderConcurrency] = jsii.String(strconv.Itoa(q.DefaultConcurrency))
		environment[env.MaxQueuedRenders] = jsii.String(strconv.Itoa(q.MaxQueued))
		environment[env.MaxQueuedPerCaller] = jsii.String(strconv.Itoa(q.MaxQueuedPerCaller))
	}
	if w := props.webhooks; w != nil {
		environment[env.WebhookSecretARN] = w.secret.SecretArn()
		if cfg.Records.EventBusName != "" {
			environment[env.EventBusName] = jsii.String(cfg.Records.EventBusName)
		}
	}

	return awslambda.NewFunction(scope, jsii.String("TriggerFunction"), &awslambda.FunctionProps{
		Description:   jsii.String("Starts renders on " + cfg.Remotion.FunctionName + " and reports their progress"),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Code:          goFunctionCode(props.dir),
		Role:          props.role,
		MemorySize:    jsii.Number(functionMemoryMB),
		Timeout:       awscdk.Duration_Seconds(jsii.Number(env.FunctionTimeout.Seconds())),
		LogGroup:      logGroup,
		LoggingFormat: awslambda.LoggingFormat_JSON,
		// With the JSON format Lambda passes the level to the function, as
		// AWS_LAMBDA_LOG_LEVEL, and drops its lines below it; of its own
		// lines (START, END, REPORT) it keeps the warnings.
		ApplicationLogLevelV2: applicationLogLevel(cfg.LogLevel),
		SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
		Environment:           &environment,

		ReservedConcurrentExecutions: reservedConcurrency(cfg.ReservedConcurrency),
	})
}

// reservedConcurrency is nil, unreserved, for zero: new accounts have no
// concurrency to reserve.
func reservedConcurrency(n int) *float64 {
	if n <= 0 {
		return nil
	}
	return jsii.Number(n)
}

// applicationLogLevel is the level Lambda names level, which config.Load
// accepted.
func applicationLogLevel(level string) awslambda.ApplicationLogLevel {
	l, ok := applicationLogLevels[level]
	if !ok {
		panic("stacks: no application log level " + level + "; config.Load accepts only config.LogLevels")
	}
	return l
}

var applicationLogLevels = map[string]awslambda.ApplicationLogLevel{
	"TRACE": awslambda.ApplicationLogLevel_TRACE, "DEBUG": awslambda.ApplicationLogLevel_DEBUG,
	"INFO": awslambda.ApplicationLogLevel_INFO, "WARN": awslambda.ApplicationLogLevel_WARN,
	"ERROR": awslambda.ApplicationLogLevel_ERROR, "FATAL": awslambda.ApplicationLogLevel_FATAL,
}

// retention is the log retention CloudWatch names for a number of days that
// config.Load accepted.
func retention(days int) awslogs.RetentionDays {
	r, ok := retentionDays[days]
	if !ok {
		panic("stacks: no log retention of " + strconv.Itoa(days) + " days; config.Load accepts only config.RetentionDays")
	}
	return r
}

var retentionDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

// Package env names the environment variables through which the stack
// configures the trigger function: the stack sets them, the function reads
// them, and both use these names.
package env

import "time"

const (
	// FunctionName is the Remotion render function's name or ARN. Required.
	FunctionName = "REMOTION_FUNCTION_NAME"
	// Region is the render function's region; empty means the function's own.
	Region = "REMOTION_REGION"
	// Version is the Remotion version the render function runs; empty means
	// the one in its name.
	Version = "REMOTION_VERSION"
	// ServeURL is the site rendered when a request names none.
	ServeURL = "REMOTION_SERVE_URL"
	// ServeURLAllowList holds the comma-separated patterns a request's
	// serveUrl must match.
	ServeURLAllowList = "REMOTION_SERVE_URL_ALLOW_LIST"
	// OutputBucket, when set, receives every render.
	OutputBucket = "OUTPUT_BUCKET"
	// MaxRequestBodyBytes bounds a request's body.
	MaxRequestBodyBytes = "MAX_REQUEST_BODY_BYTES"
	// ExecutionPolicyName names the managed policy that lets the function
	// call Remotion, for errors that say to attach it.
	ExecutionPolicyName = "REMOTION_EXECUTION_POLICY_NAME"
	// RenderTable, when set, is the DynamoDB table of render records and
	// idempotency keys; unset means the deployment keeps none.
	RenderTable = "RENDER_TABLE"
	// RenderRecordDays is how many days a render's record is kept.
	RenderRecordDays = "RENDER_RECORD_DAYS"
	// WebhookSecretARN names the Secrets Manager secret that signs
	// Remotion's completion webhooks; unset means no webhooks.
	WebhookSecretARN = "WEBHOOK_SECRET_ARN"
	// EventBusName is the EventBridge bus render outcomes go to; empty means
	// the account's default bus.
	EventBusName = "EVENT_BUS_NAME"
	// RenderQueue, "true", has renders wait their turn for the Lambda
	// capacity they need; unset means every start is sent at once. It needs
	// RenderTable.
	RenderQueue = "RENDER_QUEUE"
	// RenderConcurrencyBudget is how many Lambda executions the
	// deployment's renders may use at once; 0 or unset means 90% of the
	// account's unreserved concurrency, read with lambda:GetAccountSettings.
	RenderConcurrencyBudget = "RENDER_CONCURRENCY_BUDGET"
	// DefaultRenderConcurrency is the concurrency sent to Remotion for a
	// render whose request sets neither concurrency nor framesPerLambda;
	// 0 or unset means Remotion picks, and the render counts as the most
	// it can use.
	DefaultRenderConcurrency = "DEFAULT_RENDER_CONCURRENCY"
	// MaxQueuedRenders bounds the line.
	MaxQueuedRenders = "MAX_QUEUED_RENDERS"
	// MaxQueuedPerCaller bounds each caller's renders in the line; 0 or
	// unset means no bound but MaxQueuedRenders.
	MaxQueuedPerCaller = "MAX_QUEUED_PER_CALLER"
	// DailySpendLimit and MonthlySpendLimit, in USD, bound what one
	// caller's renders cost in a UTC day, and all renders in a UTC month;
	// 0 or unset means no limit. They need RenderTable.
	DailySpendLimit   = "DAILY_SPEND_LIMIT"
	MonthlySpendLimit = "MONTHLY_SPEND_LIMIT"
	// EstimatedCostPerRender, in USD, is what a render is taken to cost
	// until Remotion says what it did.
	EstimatedCostPerRender = "ESTIMATED_COST_PER_RENDER"
)

// FunctionTimeout is the trigger function's timeout: the stack configures
// it, and the function counts a claim older than it as held by a request
// that died. It stays below the 30 s that API Gateway waits for an
// integration, so that a slow render function gets a JSON 504 from the
// function rather than a bare 503 from API Gateway.
const FunctionTimeout = 28 * time.Second

// What the function assumes when a variable is unset. The CDK app's
// configuration defaults to the same values.
const (
	// DefaultServeURLPattern admits the sites of every remotionlambda-*
	// bucket, as `npx remotion lambda sites create` deploys them.
	DefaultServeURLPattern = "https://remotionlambda-*.s3.*.amazonaws.com/sites/**"
	// DefaultMaxRequestBodyBytes bounds a request's body.
	DefaultMaxRequestBodyBytes = 1 << 20
	// DefaultExecutionPolicyName is the name Remotion's IAM-roles guide
	// gives the policy.
	DefaultExecutionPolicyName = "remotion-executionrole-policy"
	// DefaultRenderRecordDays is how long render records are kept.
	DefaultRenderRecordDays = 90
	// DefaultMaxQueuedRenders bounds the line. The line is one DynamoDB item
	// (at most 400 KB), and every write of it is billed by its size.
	DefaultMaxQueuedRenders = 1000
	// MaxMaxQueuedRenders is the most MaxQueuedRenders can be, so that the
	// line stays well within its item's 400 KB.
	MaxMaxQueuedRenders = 2000
	// DefaultEstimatedCostPerRender is EstimatedCostPerRender's default,
	// in USD.
	DefaultEstimatedCostPerRender = "0.05"
	// BudgetShare is the share of the account's unreserved concurrency a
	// deployment's renders use when it sets no budget: the rest is left to
	// this function itself and to the account's other functions.
	BudgetShare = 0.9
)

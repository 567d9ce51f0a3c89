// Package config is what a deployment decides: the typed configuration of
// the stack, read from CDK context and checked key by key. It does not depend
// on jsii, so that it can be read, changed and tested on plain maps.
package config

import (
	"encoding/json"
	"math/big"
	"net/url"
	"slices"
	"strings"

	"remotion-lambda-iam/lambda/env"
)

// Context keys, as cdk.json and `-c key=value` name them.
const (
	KeyStackName                 = "stackName"
	KeyRemotionFunctionName      = "remotionFunctionName"
	KeyRemotionRegion            = "remotionRegion"
	KeyRemotionVersion           = "remotionVersion"
	KeyServeURL                  = "serveUrl"
	KeyServeURLAllowList         = "serveUrlAllowList"
	KeyExecutionPolicyName       = "executionPolicyName"
	KeyLogRetentionDays          = "logRetentionDays"
	KeyOutputBucket              = "outputBucket"
	KeyOutputBucketRemovalPolicy = "outputBucketRemovalPolicy"
	KeyRenderRoleName            = "renderRoleName"
	KeyAPIAuthorization          = "apiAuthorization"
	KeyJWTIssuer                 = "jwtIssuer"
	KeyJWTAudience               = "jwtAudience"
	KeyThrottleRateLimit         = "throttleRateLimit"
	KeyThrottleBurstLimit        = "throttleBurstLimit"
	KeyMaxRequestBodyBytes       = "maxRequestBodyBytes"
	KeyReservedConcurrency       = "reservedConcurrency"
	KeyRenderTracking            = "renderTracking"
	KeyRenderRecordDays          = "renderRecordDays"
	KeyJWTAdminScope             = "jwtAdminScope"
	KeyEventBusName              = "eventBusName"
	KeyNotifyEmail               = "notifyEmail"
	KeyNag                       = "nag"
	KeyLogLevel                  = "logLevel"
	KeyRenderQueue               = "renderQueue"
	KeyRenderConcurrencyBudget   = "renderConcurrencyBudget"
	KeyDefaultRenderConcurrency  = "defaultRenderConcurrency"
	KeyMaxQueuedRenders          = "maxQueuedRenders"
	KeyMaxQueuedPerCaller        = "maxQueuedPerCaller"
	KeyDailySpendLimit           = "dailySpendLimit"
	KeyMonthlySpendLimit         = "monthlySpendLimit"
	KeyEstimatedCostPerRender    = "estimatedCostPerRender"
	KeySpendAlarmShare           = "spendAlarmShare"
)

// Config is one deployment of the stack.
type Config struct {
	// StackName names the CloudFormation stack.
	StackName string
	// Remotion is the render function the trigger function calls.
	Remotion Remotion
	// ExecutionPolicyName names the customer-managed policy; unique per account.
	ExecutionPolicyName string
	// LogRetentionDays applies to the function's logs and the API's access logs.
	LogRetentionDays int
	// LogLevel is the function's application log level, one of LogLevels:
	// Lambda drops the function's lines below it.
	LogLevel string
	// OutputBucket, if any, receives every render.
	OutputBucket OutputBucket
	// API is who may call the HTTP API, and how much.
	API API
	// ReservedConcurrency, when above zero, reserves (and caps) the trigger
	// function's concurrency.
	ReservedConcurrency int
	// Records is the table of render records and idempotency keys.
	Records Records
	// Nag runs cdk-nag's AwsSolutions checks during synthesis.
	Nag bool
}

// Remotion is the deployed Remotion render function and what it may render.
type Remotion struct {
	// FunctionName is the render function, as `npx remotion lambda functions ls` lists it.
	FunctionName string
	// Region is the render function's region; empty means the stack's.
	Region string
	// Version is the Remotion version the render function runs. Load reads
	// it from FunctionName when the key is empty.
	Version string
	// ServeURL is the site rendered when a request names none; may be empty.
	ServeURL string
	// ServeURLAllowList holds the patterns a request's serveUrl must match.
	ServeURLAllowList []string
}

// LogLevels are the application log levels Lambda knows, the most detailed
// first.
var LogLevels = []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}

// BucketMode says where renders land.
type BucketMode int

const (
	// NoBucket leaves renders in Remotion's remotionlambda-* bucket.
	NoBucket BucketMode = iota
	// CreateBucket has the stack create a private bucket for renders.
	CreateBucket
	// ImportBucket sends renders to an existing bucket, by name.
	ImportBucket
)

// CreateBucketValue, as outputBucket, has the stack create the bucket.
const CreateBucketValue = "create"

// RemovalPolicy says what happens to a created bucket on `cdk destroy`.
type RemovalPolicy string

const (
	// Retain keeps the bucket and its renders.
	Retain RemovalPolicy = "retain"
	// Destroy deletes the bucket and every render in it.
	Destroy RemovalPolicy = "destroy"
)

// OutputBucket is the optional bucket renders are written into.
type OutputBucket struct {
	Mode BucketMode
	// Name of the existing bucket, with ImportBucket.
	Name string
	// RemovalPolicy applies to a created bucket and its access log bucket.
	RemovalPolicy RemovalPolicy
	// RenderRoleName is the role Remotion's render function runs as; it is
	// the one that writes the file, so a created bucket lets it in.
	RenderRoleName string
}

// Records is the render table: a record of every render started, and the
// idempotency keys that make a start safe to retry.
type Records struct {
	// Tracking creates the table and the routes that read it. Off, the
	// stack is the minimal one of Remotion's guide.
	Tracking bool
	// Days is how long a render's record is kept.
	Days int
	// EventBusName is the EventBridge bus render outcomes go to; empty
	// means the account's default bus.
	EventBusName string
	// NotifyEmail, when set, is sent an email when a render ends.
	NotifyEmail string
	// Queue has renders wait their turn for the Lambda capacity they need.
	// It keeps its line in the render table, so it is off without Tracking.
	Queue Queue
	// Spend is the cost ledger's limits. The ledger is in the render
	// table: without Tracking, no limit applies.
	Spend Spend
}

// Spend is what renders may cost, and what they are taken to cost until
// Remotion says. Amounts are in USD, exact decimals as Load wrote them
// (such as "0.05", never "5e-2"), so that the function, which reads them,
// and the alarm see the same number.
type Spend struct {
	// DailyLimit bounds what one caller's renders cost in a UTC day; "0"
	// means no limit.
	DailyLimit string
	// MonthlyLimit bounds what all the deployment's renders cost in a UTC
	// month; "0" means no limit, and no spend alarm.
	MonthlyLimit string
	// EstimatedCostPerRender is what a render counts against the limits
	// while it waits or runs, until Remotion says what it cost; above 0.
	EstimatedCostPerRender string
	// AlarmShare is the share of MonthlyLimit that one UTC day's spend may
	// reach before the spend alarm goes off: above 0, at most 1.
	AlarmShare string
}

// HasDailyLimit reports whether one caller's day is bounded.
func (s Spend) HasDailyLimit() bool { return !isZero(s.DailyLimit) }

// HasMonthlyLimit reports whether the deployment's month is bounded, and
// watched by the spend alarm.
func (s Spend) HasMonthlyLimit() bool { return !isZero(s.MonthlyLimit) }

// AlarmThreshold is AlarmShare × MonthlyLimit, in USD: the day's spend that
// sets off the alarm.
func (s Spend) AlarmThreshold() float64 {
	share, limit := mustRat(s.AlarmShare), mustRat(s.MonthlyLimit)
	f, _ := new(big.Rat).Mul(share, limit).Float64()
	return f
}

// Queue is the admission queue: a render starts when the Lambda
// concurrency it needs fits the deployment's budget, and waits in line
// otherwise, until renders that end give their concurrency back.
type Queue struct {
	// Enabled queues renders, and adds the routes to cancel a waiting
	// render and to show the line, a schedule that starts waiting renders
	// every minute, and the right to read the account's concurrency.
	Enabled bool
	// ConcurrencyBudget is how many Lambda executions the deployment's
	// renders may use at once; 0 means 90% of the account's unreserved
	// concurrency, read when the function runs.
	ConcurrencyBudget int
	// DefaultConcurrency is the concurrency a render gets when its request
	// sets neither concurrency nor framesPerLambda; 0 lets Remotion pick,
	// and the render then counts as the most it can use.
	DefaultConcurrency int
	// MaxQueued bounds the line; a start past it is refused.
	MaxQueued int
	// MaxQueuedPerCaller bounds each caller's renders in the line; 0 means
	// no bound but MaxQueued.
	MaxQueuedPerCaller int
}

// AuthMode is how callers of the HTTP API prove who they are.
type AuthMode string

const (
	// AuthIAM requires SigV4-signed requests from principals allowed
	// execute-api:Invoke.
	AuthIAM AuthMode = "iam"
	// AuthJWT requires a JWT from an OIDC issuer, such as a Cognito user pool.
	AuthJWT AuthMode = "jwt"
	// AuthNone lets anyone who knows the URL start renders on the account's bill.
	AuthNone AuthMode = "none"
)

// API is who may call the HTTP API, and how much.
type API struct {
	Authorization AuthMode
	JWTIssuer     string   // with AuthJWT
	JWTAudience   []string // with AuthJWT
	// JWTAdminScope, with AuthJWT, is the scope a token needs for
	// the operators' routes (GET /renders/all and those under it); empty
	// means they are not created.
	JWTAdminScope string
	// ThrottleRateLimit (requests per second, steady) and ThrottleBurstLimit
	// bound the API stage.
	ThrottleRateLimit  int
	ThrottleBurstLimit int
	// MaxRequestBodyBytes bounds a request's body; the function answers 413 past it.
	MaxRequestBodyBytes int
}

// DefaultSpendAlarmShare is the share of monthlySpendLimit one day's spend
// may reach before the spend alarm goes off: a tenth, three days' worth of
// an even month.
const DefaultSpendAlarmShare = "0.1"

// Default is the configuration of a deployment that sets no key: the values
// cdk.json states, for a fork to read and change.
func Default() Config {
	return Config{
		StackName: "RemotionRenderStack",
		Remotion: Remotion{
			FunctionName:      "remotion-render-4-0-527-mem2048mb-disk2048mb-120sec",
			ServeURLAllowList: []string{env.DefaultServeURLPattern},
		},
		ExecutionPolicyName: env.DefaultExecutionPolicyName,
		LogRetentionDays:    30,
		LogLevel:            "INFO",
		OutputBucket:        OutputBucket{Mode: NoBucket, RemovalPolicy: Retain, RenderRoleName: "remotion-lambda-role"},
		API: API{
			Authorization:       AuthIAM,
			JWTAudience:         []string{},
			ThrottleRateLimit:   10,
			ThrottleBurstLimit:  20,
			MaxRequestBodyBytes: env.DefaultMaxRequestBodyBytes,
		},
		Records: Records{
			Tracking: true,
			Days:     env.DefaultRenderRecordDays,
			Queue:    Queue{Enabled: true, MaxQueued: env.DefaultMaxQueuedRenders},
			Spend: Spend{DailyLimit: "0", MonthlyLimit: "0",
				EstimatedCostPerRender: env.DefaultEstimatedCostPerRender, AlarmShare: DefaultSpendAlarmShare},
		},
	}
}

// Context is c as CDK context: every key, with the value that Load reads
// back as c.
func (c Config) Context() map[string]any {
	bucket := ""
	switch c.OutputBucket.Mode {
	case CreateBucket:
		bucket = CreateBucketValue
	case ImportBucket:
		bucket = c.OutputBucket.Name
	}
	return map[string]any{
		KeyStackName:                 c.StackName,
		KeyRemotionFunctionName:      c.Remotion.FunctionName,
		KeyRemotionRegion:            c.Remotion.Region,
		KeyRemotionVersion:           c.Remotion.Version,
		KeyServeURL:                  c.Remotion.ServeURL,
		KeyServeURLAllowList:         slices.Clone(c.Remotion.ServeURLAllowList),
		KeyExecutionPolicyName:       c.ExecutionPolicyName,
		KeyLogRetentionDays:          c.LogRetentionDays,
		KeyOutputBucket:              bucket,
		KeyOutputBucketRemovalPolicy: string(c.OutputBucket.RemovalPolicy),
		KeyRenderRoleName:            c.OutputBucket.RenderRoleName,
		KeyAPIAuthorization:          string(c.API.Authorization),
		KeyJWTIssuer:                 c.API.JWTIssuer,
		KeyJWTAudience:               slices.Clone(c.API.JWTAudience),
		KeyThrottleRateLimit:         c.API.ThrottleRateLimit,
		KeyThrottleBurstLimit:        c.API.ThrottleBurstLimit,
		KeyMaxRequestBodyBytes:       c.API.MaxRequestBodyBytes,
		KeyReservedConcurrency:       c.ReservedConcurrency,
		KeyRenderTracking:            c.Records.Tracking,
		KeyRenderRecordDays:          c.Records.Days,
		KeyJWTAdminScope:             c.API.JWTAdminScope,
		KeyEventBusName:              c.Records.EventBusName,
		KeyNotifyEmail:               c.Records.NotifyEmail,
		KeyNag:                       c.Nag,
		KeyLogLevel:                  c.LogLevel,
		KeyRenderQueue:               c.Records.Queue.Enabled,
		KeyRenderConcurrencyBudget:   c.Records.Queue.ConcurrencyBudget,
		KeyDefaultRenderConcurrency:  c.Records.Queue.DefaultConcurrency,
		KeyMaxQueuedRenders:          c.Records.Queue.MaxQueued,
		KeyMaxQueuedPerCaller:        c.Records.Queue.MaxQueuedPerCaller,
		// Numbers, as cdk.json states them, written exactly.
		KeyDailySpendLimit:        json.Number(c.Records.Spend.DailyLimit),
		KeyMonthlySpendLimit:      json.Number(c.Records.Spend.MonthlyLimit),
		KeyEstimatedCostPerRender: json.Number(c.Records.Spend.EstimatedCostPerRender),
		KeySpendAlarmShare:        json.Number(c.Records.Spend.AlarmShare),
	}
}

// serveURLAllowList is the allow-list a deployment gets when it leaves
// serveUrlAllowList at its default: with a serveUrl, only that site's bucket,
// so that a caller cannot render a site of another account on this
// account's bill; without one, any site Remotion deploys.
func serveURLAllowList(serveURL string) []string {
	if serveURL == "" {
		return []string{env.DefaultServeURLPattern}
	}
	u, err := url.Parse(serveURL)
	if err != nil {
		return []string{env.DefaultServeURLPattern}
	}
	// A path-style S3 URL names the bucket in its first segment.
	if u.Host == "s3.amazonaws.com" || strings.HasPrefix(u.Host, "s3.") && strings.HasSuffix(u.Host, ".amazonaws.com") {
		bucket, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
		return []string{"https://" + u.Host + "/" + bucket + "/**"}
	}
	return []string{"https://" + u.Host + "/**"}
}

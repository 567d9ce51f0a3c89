// Command remotion-lambda-iam is the CDK app: it reads the deployment's
// configuration from CDK context, validates it, and synthesizes the stack.
package main

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"remotion-lambda-iam/lambda/api"
	"remotion-lambda-iam/lambda/remotion"
	"remotion-lambda-iam/policies"
	"remotion-lambda-iam/stacks"
)

// Context keys, with their defaults. cdk.json repeats the defaults so that a
// fork sees what it can change; a test keeps the two in step.
const (
	keyStackName           = "stackName"
	keyFunctionName        = "remotionFunctionName"
	keyRegion              = "remotionRegion"
	keyVersion             = "remotionVersion"
	keyServeURL            = "serveUrl"
	keyServeURLAllowList   = "serveUrlAllowList"
	keyPolicyName          = "executionPolicyName"
	keyLogRetentionDays    = "logRetentionDays"
	keyOutputBucket        = "outputBucket"
	keyOutputBucketRemoval = "outputBucketRemovalPolicy"
	keyRenderRoleName      = "renderRoleName"
	keyAPIAuthorization    = "apiAuthorization"
	keyJWTIssuer           = "jwtIssuer"
	keyJWTAudience         = "jwtAudience"
	keyThrottleRateLimit   = "throttleRateLimit"
	keyThrottleBurstLimit  = "throttleBurstLimit"
	keyMaxRequestBodyBytes = "maxRequestBodyBytes"
	keyReservedConcurrency = "reservedConcurrency"
	keyNag                 = "nag"
)

const (
	// functionDir holds the trigger function's main package.
	functionDir = "lambda"
	// createOutputBucketValue, as outputBucket, has the stack create the bucket.
	createOutputBucketValue = "create"
)

var defaults = map[string]any{
	keyStackName:           "RemotionRenderStack",
	keyFunctionName:        "remotion-render-4-0-527-mem2048mb-disk2048mb-120sec",
	keyRegion:              "",
	keyVersion:             "",
	keyServeURL:            "",
	keyServeURLAllowList:   api.DefaultServeURLAllowList,
	keyPolicyName:          policies.ExecutionRolePolicyName,
	keyLogRetentionDays:    30,
	keyOutputBucket:        "",
	keyOutputBucketRemoval: "retain",
	keyRenderRoleName:      "remotion-lambda-role",
	keyAPIAuthorization:    string(stacks.AuthIAM),
	keyJWTIssuer:           "",
	keyJWTAudience:         []string{},
	keyThrottleRateLimit:   10,
	keyThrottleBurstLimit:  20,
	keyMaxRequestBodyBytes: api.DefaultMaxBodyBytes,
	keyReservedConcurrency: 0,
	keyNag:                 false,
}

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	if _, err := newStack(app); err != nil {
		fmt.Fprintln(os.Stderr, "configuration error:", err)
		os.Exit(1)
	}
	app.Synth(nil)
}

// newStack reads the configuration from app's context and adds the stack.
func newStack(app awscdk.App) (awscdk.Stack, error) {
	ctx := contextReader{app}
	name, err := ctx.match(keyStackName, stackNamePattern, "a CloudFormation stack name: letters, digits and hyphens, starting with a letter")
	if err != nil {
		return nil, err
	}
	render, err := ctx.renderConfig()
	if err != nil {
		return nil, err
	}
	access, err := ctx.accessConfig()
	if err != nil {
		return nil, err
	}
	nag, err := ctx.bool(keyNag)
	if err != nil {
		return nil, err
	}
	if nag {
		awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{
			Verbose:       jsii.Bool(true),
			ReportFormats: &[]cdknag.NagReportFormat{cdknag.NagReportFormat_JSON},
		}), nil)
	}
	return stacks.NewRemotionRenderStack(app, name, &stacks.RemotionRenderStackProps{
		StackProps: awscdk.StackProps{
			Description: jsii.String("Renders Remotion videos from AWS compute with IAM roles instead of long-term keys"),
		},
		Render:      render,
		Access:      access,
		FunctionDir: functionDir,
	}), nil
}

var (
	stackNamePattern    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,127}$`)
	functionNamePattern = regexp.MustCompile(`^remotion-render-[A-Za-z0-9_-]{1,48}$`)
	regionPattern       = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	versionPattern      = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
	iamNamePattern      = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,64}$`)
	bucketNamePattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	ipAddressPattern    = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$`)
)

// contextReader reads and checks the app's context values. Every error names the
// key and says what to set.
type contextReader struct {
	app awscdk.App
}

func (c contextReader) raw(key string) any {
	if v := c.app.Node().TryGetContext(jsii.String(key)); v != nil {
		return v
	}
	return defaults[key]
}

func (c contextReader) string(key string) (string, error) {
	switch v := c.raw(key).(type) {
	case string:
		return strings.TrimSpace(v), nil
	default:
		return "", fmt.Errorf("context key %s: want a string, got %v: set it with -c %s=VALUE or in cdk.json", key, v, key)
	}
}

func (c contextReader) match(key string, pattern *regexp.Regexp, what string) (string, error) {
	v, err := c.string(key)
	if err != nil {
		return "", err
	}
	if !pattern.MatchString(v) {
		return "", fmt.Errorf("context key %s: %q is not %s", key, v, what)
	}
	return v, nil
}

func (c contextReader) bool(key string) (bool, error) {
	switch v := c.raw(key).(type) {
	case bool:
		return v, nil
	case string:
		if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
			return b, nil
		}
	}
	return false, fmt.Errorf("context key %s: want true or false, got %v", key, c.raw(key))
}

// intIn reads a whole number between min and max.
func (c contextReader) intIn(key string, min, max int, what string) (int, error) {
	n, err := c.int(key)
	if err != nil {
		return 0, err
	}
	if n < min || n > max {
		return 0, fmt.Errorf("context key %s: %d is out of range: %s, from %d to %d", key, n, what, min, max)
	}
	return n, nil
}

func (c contextReader) int(key string) (int, error) {
	switch v := c.raw(key).(type) {
	case float64:
		if v == float64(int(v)) {
			return int(v), nil
		}
	case int:
		return v, nil
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			return n, nil
		}
	}
	return 0, fmt.Errorf("context key %s: want a whole number, got %v", key, c.raw(key))
}

// list reads a JSON array from cdk.json, or a comma-separated -c value.
func (c contextReader) list(key string) ([]string, error) {
	var out []string
	switch v := c.raw(key).(type) {
	case string:
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	case []string:
		out = v
	case []any:
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("context key %s: want a list of strings, got the element %v", key, e)
			}
			out = append(out, s)
		}
	default:
		return nil, fmt.Errorf("context key %s: want a list of strings (a JSON array, or comma-separated with -c), got %v", key, v)
	}
	return out, nil
}

func (c contextReader) renderConfig() (stacks.RenderConfig, error) {
	var cfg stacks.RenderConfig
	var err error
	if cfg.RemotionFunctionName, err = c.match(keyFunctionName, functionNamePattern,
		"a Remotion render function name: remotion-render-… as `npx remotion lambda functions ls` lists it (the execution policy only allows invoking remotion-render-* functions)"); err != nil {
		return cfg, err
	}
	if cfg.RemotionRegion, err = c.string(keyRegion); err != nil {
		return cfg, err
	}
	if cfg.RemotionRegion != "" && !regionPattern.MatchString(cfg.RemotionRegion) {
		return cfg, fmt.Errorf("context key %s: %q is not an AWS region such as us-east-1; leave it empty to use the stack's region", keyRegion, cfg.RemotionRegion)
	}
	if cfg.RemotionVersion, err = c.version(cfg.RemotionFunctionName); err != nil {
		return cfg, err
	}
	if cfg.ServeURL, err = c.string(keyServeURL); err != nil {
		return cfg, err
	}
	if cfg.ServeURL != "" {
		if u, perr := url.Parse(cfg.ServeURL); perr != nil || u.Scheme != "https" || u.Host == "" {
			return cfg, fmt.Errorf("context key %s: %q is not an https URL; give the URL `npx remotion lambda sites create` printed, or leave it empty", keyServeURL, cfg.ServeURL)
		}
	}
	if cfg.ServeURLAllowList, err = c.list(keyServeURLAllowList); err != nil {
		return cfg, err
	}
	if len(cfg.ServeURLAllowList) == 0 {
		return cfg, fmt.Errorf("context key %s: the list is empty; give at least one pattern such as %s", keyServeURLAllowList, api.DefaultServeURLAllowList[0])
	}
	for _, p := range cfg.ServeURLAllowList {
		if !strings.HasPrefix(p, "https://") || strings.Contains(p, ",") {
			return cfg, fmt.Errorf("context key %s: pattern %q must start with https:// and hold no comma", keyServeURLAllowList, p)
		}
	}
	if cfg.ExecutionPolicyName, err = c.match(keyPolicyName, iamNamePattern, "an IAM policy name: up to 64 letters, digits and +=,.@_-"); err != nil {
		return cfg, err
	}
	days, err := c.int(keyLogRetentionDays)
	if err != nil {
		return cfg, err
	}
	var ok bool
	if cfg.LogRetention, ok = stacks.RetentionDays[days]; !ok {
		valid := make([]int, 0, len(stacks.RetentionDays))
		for d := range stacks.RetentionDays {
			valid = append(valid, d)
		}
		slices.Sort(valid)
		return cfg, fmt.Errorf("context key %s: CloudWatch Logs cannot keep logs %d days; use one of %v", keyLogRetentionDays, days, valid)
	}
	cfg.OutputBucket, err = c.outputBucket()
	return cfg, err
}

// Lambda refuses synchronous invocation payloads over 6 MB.
const maxInvokePayloadBytes = 6 << 20

func (c contextReader) accessConfig() (stacks.AccessConfig, error) {
	var cfg stacks.AccessConfig
	auth, err := c.string(keyAPIAuthorization)
	if err != nil {
		return cfg, err
	}
	cfg.Auth = stacks.AuthMode(auth)
	switch cfg.Auth {
	case stacks.AuthIAM, stacks.AuthNone:
	case stacks.AuthJWT:
		if cfg.JWTIssuer, err = c.string(keyJWTIssuer); err != nil {
			return cfg, err
		}
		if u, perr := url.Parse(cfg.JWTIssuer); perr != nil || u.Scheme != "https" || u.Host == "" {
			return cfg, fmt.Errorf("context key %s: %q is not an https issuer URL; with apiAuthorization=jwt give the OIDC issuer, e.g. https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf", keyJWTIssuer, cfg.JWTIssuer)
		}
		if cfg.JWTAudience, err = c.list(keyJWTAudience); err != nil {
			return cfg, err
		}
		if len(cfg.JWTAudience) == 0 {
			return cfg, fmt.Errorf("context key %s: empty; with apiAuthorization=jwt give the audiences (client IDs) a token must carry", keyJWTAudience)
		}
	default:
		return cfg, fmt.Errorf("context key %s: %q is none of iam (SigV4, the default), jwt (an OIDC issuer) or none", keyAPIAuthorization, auth)
	}
	rate, err := c.intIn(keyThrottleRateLimit, 1, 10000, "requests per second the API accepts steadily")
	if err != nil {
		return cfg, err
	}
	cfg.ThrottleRateLimit = float64(rate)
	if cfg.ThrottleBurstLimit, err = c.intIn(keyThrottleBurstLimit, 1, 5000, "requests the API accepts at once"); err != nil {
		return cfg, err
	}
	if cfg.MaxRequestBodyBytes, err = c.intIn(keyMaxRequestBodyBytes, 1024, maxInvokePayloadBytes, "bytes of request body (Lambda caps payloads at 6 MB)"); err != nil {
		return cfg, err
	}
	if cfg.ReservedConcurrency, err = c.intIn(keyReservedConcurrency, 0, 1000, "0 for none, or the concurrent executions to reserve"); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func (c contextReader) version(functionName string) (string, error) {
	v, err := c.string(keyVersion)
	if err != nil {
		return "", err
	}
	if v == "" {
		if parsed, ok := remotion.VersionFromFunctionName(functionName); ok {
			return parsed, nil
		}
		return "", fmt.Errorf("context key %s: not set, and the function name %q carries no version: set it to the Remotion version the render function runs, e.g. -c %s=4.0.527", keyVersion, functionName, keyVersion)
	}
	if !versionPattern.MatchString(v) {
		return "", fmt.Errorf("context key %s: %q is not a Remotion version such as 4.0.527", keyVersion, v)
	}
	return v, nil
}

func (c contextReader) outputBucket() (stacks.OutputBucketConfig, error) {
	var cfg stacks.OutputBucketConfig
	name, err := c.string(keyOutputBucket)
	if err != nil {
		return cfg, err
	}
	removal, err := c.string(keyOutputBucketRemoval)
	if err != nil {
		return cfg, err
	}
	if removal != "retain" && removal != "destroy" {
		return cfg, fmt.Errorf("context key %s: %q is neither retain (keep the bucket and its renders on cdk destroy) nor destroy", keyOutputBucketRemoval, removal)
	}
	if cfg.RenderRoleName, err = c.match(keyRenderRoleName, iamNamePattern, "an IAM role name: up to 64 letters, digits and +=,.@_-"); err != nil {
		return cfg, err
	}
	switch {
	case name == "":
		cfg.Mode = stacks.NoOutputBucket
	case name == createOutputBucketValue:
		cfg.Mode = stacks.CreateOutputBucket
		cfg.DestroyOnRemoval = removal == "destroy"
	default:
		if msg := checkBucketName(name); msg != "" {
			return cfg, fmt.Errorf("context key %s: %q is not a bucket name S3 accepts: %s. Give an existing bucket's name, %q to have the stack create one, or leave it empty",
				keyOutputBucket, name, msg, createOutputBucketValue)
		}
		if strings.HasPrefix(name, remotion.BucketPrefix) {
			return cfg, fmt.Errorf("context key %s: %q is one of Remotion's own buckets; renders land there without an output bucket, so leave the key empty", keyOutputBucket, name)
		}
		cfg.Mode, cfg.Name = stacks.ImportOutputBucket, name
	}
	return cfg, nil
}

// checkBucketName applies S3's general purpose bucket naming rules.
func checkBucketName(name string) string {
	switch {
	case !bucketNamePattern.MatchString(name):
		return "3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit"
	case strings.Contains(name, ".."):
		return "no two adjacent dots"
	case ipAddressPattern.MatchString(name):
		return "not formatted as an IP address"
	case strings.HasPrefix(name, "xn--") || strings.HasPrefix(name, "sthree-") || strings.HasPrefix(name, "amzn-s3-demo-"):
		return "no reserved prefix (xn--, sthree-, amzn-s3-demo-)"
	case strings.HasSuffix(name, "-s3alias") || strings.HasSuffix(name, "--ol-s3") || strings.HasSuffix(name, ".mrap") || strings.HasSuffix(name, "--x-s3"):
		return "no reserved suffix (-s3alias, --ol-s3, .mrap, --x-s3)"
	}
	return ""
}

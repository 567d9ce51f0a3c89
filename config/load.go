package config

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"remotion-lambda-iam/lambda/env"
	"remotion-lambda-iam/lambda/remotion/render"
)

// Lambda refuses synchronous invocation payloads over 6 MB.
const maxInvokePayloadBytes = 6 << 20

// Bounds of the queue's keys.
const (
	// maxConcurrencyBudget is far above any account's concurrency quota; a
	// budget above the account's concurrency is only a mistake.
	maxConcurrencyBudget = 100000
	// maxRemotionConcurrency is the most concurrency Remotion accepts for
	// one render (its concurrency option takes 1 to 200).
	maxRemotionConcurrency = 200
)

// RetentionDays are the numbers of days CloudWatch Logs can keep logs.
var RetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

var (
	stackNamePattern    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,127}$`)
	functionNamePattern = regexp.MustCompile(`^remotion-render-[A-Za-z0-9_-]{1,48}$`)
	regionPattern       = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	versionPattern      = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
	iamNamePattern      = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,64}$`)
	bucketNamePattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	ipAddressPattern    = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$`)
	scopePattern        = regexp.MustCompile(`^[!-~]{1,128}$`)
	eventBusPattern     = regexp.MustCompile(`^([A-Za-z0-9._\-/]{1,256})?$`)
	decimalPattern      = regexp.MustCompile(`^([0-9]+)(?:\.([0-9]+))?$`)
)

// maxDecimalPlaces is the most decimal places an amount may have: the
// function keeps amounts in DynamoDB with 12.
const maxDecimalPlaces = 12

// Load reads the configuration from lookup, which returns a context key's
// value or nil when the key is not set; an unset key keeps its Default. Every
// error names the key and says what to set.
func Load(lookup func(key string) any) (Config, error) {
	c := Default()
	r := reader{lookup: lookup}

	r.readMatch(KeyStackName, &c.StackName, stackNamePattern, "a CloudFormation stack name: letters, digits and hyphens, starting with a letter")
	r.readMatch(KeyRemotionFunctionName, &c.Remotion.FunctionName, functionNamePattern,
		"a Remotion render function name: remotion-render-… as `npx remotion lambda functions ls` lists it (the execution policy only allows invoking remotion-render-* functions)")
	if r.readString(KeyRemotionRegion, &c.Remotion.Region) && c.Remotion.Region != "" && !regionPattern.MatchString(c.Remotion.Region) {
		r.fail(KeyRemotionRegion, "%q is not an AWS region such as us-east-1; leave it empty to use the stack's region", c.Remotion.Region)
	}
	if r.readString(KeyRemotionVersion, &c.Remotion.Version) {
		r.version(&c.Remotion)
	}
	if r.readString(KeyServeURL, &c.Remotion.ServeURL) && c.Remotion.ServeURL != "" {
		if u, err := url.Parse(c.Remotion.ServeURL); err != nil || u.Scheme != "https" || u.Host == "" {
			r.fail(KeyServeURL, "%q is not an https URL; give the URL `npx remotion lambda sites create` printed, or leave it empty", c.Remotion.ServeURL)
		}
	}
	if r.readList(KeyServeURLAllowList, &c.Remotion.ServeURLAllowList) {
		r.allowList(&c.Remotion)
	}
	r.readMatch(KeyExecutionPolicyName, &c.ExecutionPolicyName, iamNamePattern, "an IAM policy name: up to 64 letters, digits and +=,.@_-")
	if r.readInt(KeyLogRetentionDays, &c.LogRetentionDays) && !slices.Contains(RetentionDays, c.LogRetentionDays) {
		r.fail(KeyLogRetentionDays, "CloudWatch Logs cannot keep logs %d days; use one of %v", c.LogRetentionDays, RetentionDays)
	}
	if r.readString(KeyLogLevel, &c.LogLevel) {
		c.LogLevel = strings.ToUpper(c.LogLevel)
		if !slices.Contains(LogLevels, c.LogLevel) {
			r.fail(KeyLogLevel, "%q is not a level Lambda knows; use one of %s", c.LogLevel, strings.Join(LogLevels, ", "))
		}
	}
	r.outputBucket(&c.OutputBucket)
	r.api(&c.API)
	r.readIntIn(KeyReservedConcurrency, &c.ReservedConcurrency, 0, 1000, "0 for none, or the concurrent executions to reserve")
	r.readBool(KeyRenderTracking, &c.Records.Tracking)
	r.readIntIn(KeyRenderRecordDays, &c.Records.Days, 1, 3650, "days a render's record is kept")
	r.readMatch(KeyEventBusName, &c.Records.EventBusName, eventBusPattern,
		"an EventBridge bus name: up to 256 letters, digits and ._-/, or empty for the account's default bus")
	if r.readString(KeyNotifyEmail, &c.Records.NotifyEmail) && c.Records.NotifyEmail != "" {
		if a, err := mail.ParseAddress(c.Records.NotifyEmail); err != nil || a.Address != c.Records.NotifyEmail {
			r.fail(KeyNotifyEmail, "%q is not an email address such as you@example.com; leave it empty for no email", c.Records.NotifyEmail)
		}
	}
	r.queue(&c.Records)
	r.spend(&c.Records)
	r.readBool(KeyNag, &c.Nag)

	if r.err != nil {
		return Config{}, r.err
	}
	return c, nil
}

// reader reads context values into a Config and keeps the first error.
type reader struct {
	lookup func(key string) any
	err    error
}

func (r *reader) fail(key, format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("context key %s: %s", key, fmt.Sprintf(format, args...))
	}
}

// value returns the key's value, or nil when the key is unset or an earlier
// key already failed.
func (r *reader) value(key string) any {
	if r.err != nil {
		return nil
	}
	return r.lookup(key)
}

// readString reads a string into dst and reports whether dst holds a value to
// check: the key's, or the default's.
func (r *reader) readString(key string, dst *string) bool {
	switch v := r.value(key).(type) {
	case nil:
	case string:
		*dst = strings.TrimSpace(v)
	default:
		r.fail(key, "want a string, got %v: set it with -c %s=VALUE or in cdk.json", v, key)
	}
	return r.err == nil
}

func (r *reader) readMatch(key string, dst *string, pattern *regexp.Regexp, what string) {
	if r.readString(key, dst) && !pattern.MatchString(*dst) {
		r.fail(key, "%q is not %s", *dst, what)
	}
}

func (r *reader) readBool(key string, dst *bool) {
	switch v := r.value(key).(type) {
	case nil:
	case bool:
		*dst = v
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			r.fail(key, "want true or false, got %v", v)
		}
		*dst = b
	default:
		r.fail(key, "want true or false, got %v", v)
	}
}

// readInt reads a whole number: a JSON number from cdk.json, or a -c string.
func (r *reader) readInt(key string, dst *int) bool {
	switch v := r.value(key).(type) {
	case nil:
	case float64:
		if v != float64(int(v)) {
			r.fail(key, "want a whole number, got %v", v)
		}
		*dst = int(v)
	case int:
		*dst = v
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			r.fail(key, "want a whole number, got %v", v)
		}
		*dst = n
	default:
		r.fail(key, "want a whole number, got %v", v)
	}
	return r.err == nil
}

// readIntIn reads a whole number from lo to hi.
func (r *reader) readIntIn(key string, dst *int, lo, hi int, what string) {
	if r.readInt(key, dst) && (*dst < lo || *dst > hi) {
		r.fail(key, "%d is out of range: %s, from %d to %d", *dst, what, lo, hi)
	}
}

// readList reads a JSON array from cdk.json, or a comma-separated -c value.
func (r *reader) readList(key string, dst *[]string) bool {
	switch v := r.value(key).(type) {
	case nil:
	case string:
		var out []string
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		*dst = out
	case []string:
		*dst = v
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				r.fail(key, "want a list of strings, got the element %v", e)
				break
			}
			out = append(out, s)
		}
		*dst = out
	default:
		r.fail(key, "want a list of strings (a JSON array, or comma-separated with -c), got %v", v)
	}
	return r.err == nil
}

// version checks remotionVersion, or reads it from the function's name.
func (r *reader) version(c *Remotion) {
	if c.Version == "" {
		v, ok := render.VersionFromFunctionName(c.FunctionName)
		if !ok {
			r.fail(KeyRemotionVersion, "not set, and the function name %q carries no version: set it to the Remotion version the render function runs, e.g. -c %s=4.0.527",
				c.FunctionName, KeyRemotionVersion)
		}
		c.Version = v
		return
	}
	if !versionPattern.MatchString(c.Version) {
		r.fail(KeyRemotionVersion, "%q is not a Remotion version such as 4.0.527", c.Version)
	}
}

// allowList checks serveUrlAllowList. Left at its default with a serveUrl
// set, it narrows to that site's bucket.
func (r *reader) allowList(c *Remotion) {
	if len(c.ServeURLAllowList) == 0 {
		r.fail(KeyServeURLAllowList, "the list is empty; give at least one pattern such as %s", Default().Remotion.ServeURLAllowList[0])
		return
	}
	for _, p := range c.ServeURLAllowList {
		if !strings.HasPrefix(p, "https://") || strings.Contains(p, ",") {
			r.fail(KeyServeURLAllowList, "pattern %q must start with https:// and hold no comma", p)
			return
		}
	}
	if slices.Equal(c.ServeURLAllowList, Default().Remotion.ServeURLAllowList) {
		c.ServeURLAllowList = serveURLAllowList(c.ServeURL)
	}
}

func (r *reader) outputBucket(b *OutputBucket) {
	var name, removal string
	if r.readString(KeyOutputBucket, &name) {
		switch {
		case name == "":
			b.Mode = NoBucket
		case name == CreateBucketValue:
			b.Mode = CreateBucket
		default:
			if msg := checkBucketName(name); msg != "" {
				r.fail(KeyOutputBucket, "%q is not a bucket name S3 accepts: %s. Give an existing bucket's name, %q to have the stack create one, or leave it empty",
					name, msg, CreateBucketValue)
			} else if strings.HasPrefix(name, render.BucketPrefix) {
				r.fail(KeyOutputBucket, "%q is one of Remotion's own buckets; renders land there without an output bucket, so leave the key empty", name)
			}
			b.Mode, b.Name = ImportBucket, name
		}
	}
	removal = string(b.RemovalPolicy)
	if r.readString(KeyOutputBucketRemovalPolicy, &removal) {
		b.RemovalPolicy = RemovalPolicy(removal)
		if b.RemovalPolicy != Retain && b.RemovalPolicy != Destroy {
			r.fail(KeyOutputBucketRemovalPolicy, "%q is neither %s (keep the bucket and its renders on cdk destroy) nor %s", removal, Retain, Destroy)
		}
	}
	r.readMatch(KeyRenderRoleName, &b.RenderRoleName, iamNamePattern, "an IAM role name: up to 64 letters, digits and +=,.@_-")
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

// queue reads the admission queue's keys. The queue keeps its line in the
// render table: without renderTracking it is off, so that
// renderTracking=false alone gives the minimal stack of Remotion's guide.
func (r *reader) queue(rec *Records) {
	q := &rec.Queue
	r.readBool(KeyRenderQueue, &q.Enabled)
	if !rec.Tracking {
		q.Enabled = false
	}
	r.readIntIn(KeyRenderConcurrencyBudget, &q.ConcurrencyBudget, 0, maxConcurrencyBudget,
		"0 for 90% of the account's unreserved Lambda concurrency, read at run time, or the concurrent Lambda executions the renders may use")
	r.readIntIn(KeyDefaultRenderConcurrency, &q.DefaultConcurrency, 0, maxRemotionConcurrency,
		fmt.Sprintf("0 to let Remotion pick (the render then counts as %d executions), or the concurrency of a render whose request sets none (Remotion takes up to %d)",
			maxRemotionConcurrency+1, maxRemotionConcurrency))
	if r.readInt(KeyMaxQueuedRenders, &q.MaxQueued) && (q.MaxQueued < 1 || q.MaxQueued > env.MaxMaxQueuedRenders) {
		r.fail(KeyMaxQueuedRenders, "%d is out of range: renders that may wait in line, from 1 to %d (default %d). "+
			"The ceiling is there because the line is one DynamoDB item, which holds at most 400 KB and is billed by its size on every write",
			q.MaxQueued, env.MaxMaxQueuedRenders, env.DefaultMaxQueuedRenders)
	}
	r.readIntIn(KeyMaxQueuedPerCaller, &q.MaxQueuedPerCaller, 0, env.MaxMaxQueuedRenders,
		"0 for no bound per caller, or the renders one caller may have waiting in line")
}

// spend reads the cost ledger's keys. The ledger is in the render table:
// without renderTracking no limit applies, and one set is a mistake to
// say rather than to drop.
func (r *reader) spend(rec *Records) {
	s := &rec.Spend
	const amount = "an amount in USD such as 5 or 12.50"
	if r.readDecimal(KeyDailySpendLimit, &s.DailyLimit, amount+", or 0 for no daily limit per caller") &&
		s.HasDailyLimit() && !rec.Tracking {
		r.fail(KeyDailySpendLimit, "%s is set, but %s is false: the spend is kept in the render table. Set %s=true, or %s=0",
			s.DailyLimit, KeyRenderTracking, KeyRenderTracking, KeyDailySpendLimit)
	}
	if r.readDecimal(KeyMonthlySpendLimit, &s.MonthlyLimit, amount+", or 0 for no monthly limit") &&
		s.HasMonthlyLimit() && !rec.Tracking {
		r.fail(KeyMonthlySpendLimit, "%s is set, but %s is false: the spend is kept in the render table. Set %s=true, or %s=0",
			s.MonthlyLimit, KeyRenderTracking, KeyRenderTracking, KeyMonthlySpendLimit)
	}
	if r.readDecimal(KeyEstimatedCostPerRender, &s.EstimatedCostPerRender, "what a render costs in USD, such as 0.05, until Remotion says") &&
		isZero(s.EstimatedCostPerRender) {
		r.fail(KeyEstimatedCostPerRender, "0 would let any number of renders start under the limits before one of them is paid for; "+
			"give what a render typically costs in USD, such as %s (the default)", env.DefaultEstimatedCostPerRender)
	}
	if r.readDecimal(KeySpendAlarmShare, &s.AlarmShare, "a share of monthlySpendLimit such as 0.1") &&
		(isZero(s.AlarmShare) || mustRat(s.AlarmShare).Cmp(big.NewRat(1, 1)) > 0) {
		r.fail(KeySpendAlarmShare, "%s is out of range: the share of %s that one day's spend may reach before the alarm goes off, above 0 and at most 1 (default %s)",
			s.AlarmShare, KeyMonthlySpendLimit, DefaultSpendAlarmShare)
	}
	// A limit below one render's estimate refuses every start.
	estimate := mustRat(s.EstimatedCostPerRender)
	for _, limit := range []struct{ key, value string }{{KeyDailySpendLimit, s.DailyLimit}, {KeyMonthlySpendLimit, s.MonthlyLimit}} {
		if r.err == nil && !isZero(limit.value) && mustRat(limit.value).Cmp(estimate) < 0 {
			r.fail(limit.key, "%s is below %s=%s: every render counts that much until it ends, so none could start. Raise the limit, or lower the estimate",
				limit.value, KeyEstimatedCostPerRender, s.EstimatedCostPerRender)
		}
	}
}

// readDecimal reads a non-negative amount, exactly: a -c string, or a JSON
// number from cdk.json. The CDK hands the app a JSON number as a double;
// it is read as the shortest decimal that is that double, which is what
// cdk.json says for up to 15 significant digits. dst gets the decimal
// without leading or trailing zeros ("5", "0.05").
func (r *reader) readDecimal(key string, dst *string, what string) bool {
	var text string
	switch v := r.value(key).(type) {
	case nil:
		return r.err == nil
	case string:
		text = strings.TrimSpace(v)
	case json.Number:
		text = v.String()
	case float64:
		text = strconv.FormatFloat(v, 'f', -1, 64)
	case int:
		text = strconv.Itoa(v)
	default:
		r.fail(key, "want %s, got %v", what, v)
		return false
	}
	m := decimalPattern.FindStringSubmatch(text)
	switch {
	case m == nil:
		r.fail(key, "%q is not %s: digits, with a decimal point if need be, and no sign or exponent", text, what)
	case len(m[2]) > maxDecimalPlaces:
		r.fail(key, "%q has %d decimal places, and at most %d are kept: round it", text, len(m[2]), maxDecimalPlaces)
	default:
		whole, fraction := strings.TrimLeft(m[1], "0"), strings.TrimRight(m[2], "0")
		if whole == "" {
			whole = "0"
		}
		if fraction != "" {
			whole += "." + fraction
		}
		*dst = whole
	}
	return r.err == nil
}

// isZero reports whether an amount is zero; an empty one is.
func isZero(amount string) bool {
	v, ok := new(big.Rat).SetString(amount)
	return !ok || v.Sign() == 0
}

// mustRat is an amount that readDecimal wrote, as a number. Panics on any
// other.
func mustRat(amount string) *big.Rat {
	v, ok := new(big.Rat).SetString(amount)
	if !ok {
		panic("config: " + amount + " is not an amount that Load wrote")
	}
	return v
}

func (r *reader) api(a *API) {
	auth := string(a.Authorization)
	if r.readString(KeyAPIAuthorization, &auth) {
		a.Authorization = AuthMode(auth)
		switch a.Authorization {
		case AuthIAM, AuthNone:
		case AuthJWT:
			if r.readString(KeyJWTIssuer, &a.JWTIssuer) {
				if u, err := url.Parse(a.JWTIssuer); err != nil || u.Scheme != "https" || u.Host == "" {
					r.fail(KeyJWTIssuer, "%q is not an https issuer URL; with %s=jwt give the OIDC issuer, e.g. https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf",
						a.JWTIssuer, KeyAPIAuthorization)
				}
			}
			if r.readList(KeyJWTAudience, &a.JWTAudience) && len(a.JWTAudience) == 0 {
				r.fail(KeyJWTAudience, "empty; with %s=jwt give the audiences (client IDs) a token must carry", KeyAPIAuthorization)
			}
			if r.readString(KeyJWTAdminScope, &a.JWTAdminScope) && a.JWTAdminScope != "" && !scopePattern.MatchString(a.JWTAdminScope) {
				r.fail(KeyJWTAdminScope, "%q is not an OAuth scope: up to 128 printable characters without spaces, such as renders/admin; leave it empty for no GET /renders/all", a.JWTAdminScope)
			}
		default:
			r.fail(KeyAPIAuthorization, "%q is none of iam (SigV4, the default), jwt (an OIDC issuer) or none", auth)
		}
	}
	r.readIntIn(KeyThrottleRateLimit, &a.ThrottleRateLimit, 1, 10000, "requests per second the API accepts steadily")
	r.readIntIn(KeyThrottleBurstLimit, &a.ThrottleBurstLimit, 1, 5000, "requests the API accepts at once")
	r.readIntIn(KeyMaxRequestBodyBytes, &a.MaxRequestBodyBytes, 1024, maxInvokePayloadBytes, "bytes of request body (Lambda caps payloads at 6 MB)")
}

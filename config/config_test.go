package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"remotion-lambda-iam/lambda/env"
)

// load reads a configuration from a plain map, as CDK context would give it.
func load(ctx map[string]any) (Config, error) {
	return Load(func(key string) any { return ctx[key] })
}

func TestNoKeysIsTheDefault(t *testing.T) {
	got, err := load(nil)
	if err != nil {
		t.Fatal(err)
	}

	want := Default()
	want.Remotion.Version = "4.0.527" // read from the default function name
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load(nothing) =\n%+v\nwant\n%+v", got, want)
	}
}

func TestContextReadsBackAsTheSameConfig(t *testing.T) {
	for name, ctx := range map[string]map[string]any{
		"default":  nil,
		"created":  {KeyOutputBucket: "create", KeyOutputBucketRemovalPolicy: "destroy"},
		"imported": {KeyOutputBucket: "my-renders", KeyRenderRoleName: "my-render-role"},
		"jwt":      {KeyAPIAuthorization: "jwt", KeyJWTIssuer: "https://issuer.example", KeyJWTAudience: "a,b", KeyJWTAdminScope: "renders/admin"},
		"tuned":    {KeyLogRetentionDays: "7", KeyReservedConcurrency: 5, KeyNag: "true", KeyRemotionRegion: "eu-west-1", KeyLogLevel: "WARN"},
		"queue tuned": {KeyRenderConcurrencyBudget: "500", KeyDefaultRenderConcurrency: 50.0, KeyMaxQueuedRenders: 200,
			KeyMaxQueuedPerCaller: "10"},
		"queue off": {KeyRenderQueue: false},
		"untracked": {KeyRenderTracking: false},
		"spend limits": {KeyDailySpendLimit: "5", KeyMonthlySpendLimit: 100.0, KeyEstimatedCostPerRender: "0.125",
			KeySpendAlarmShare: 0.25},
		"untracked, limits stated as none": {KeyRenderTracking: false, KeyDailySpendLimit: 0.0, KeyMonthlySpendLimit: "0"},
	} {
		t.Run(name, func(t *testing.T) {
			first, err := load(ctx)
			if err != nil {
				t.Fatal(err)
			}

			second, err := load(first.Context())

			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(first, second) {
				t.Errorf("read back as\n%+v\nwant\n%+v", second, first)
			}
		})
	}
}

func TestKeysSetTheirFields(t *testing.T) {
	c, err := load(map[string]any{
		KeyStackName:            "RendersProd",
		KeyRemotionFunctionName: "remotion-render-4-0-600-mem3008mb-disk4096mb-240sec",
		KeyRemotionRegion:       "eu-west-1",
		KeyServeURL:             "https://remotionlambda-euwest1-abc.s3.eu-west-1.amazonaws.com/sites/prod/index.html",
		KeyServeURLAllowList:    "https://remotionlambda-*.s3.*.amazonaws.com/sites/prod/**, https://renders.example.com/**",
		KeyExecutionPolicyName:  "remotion-executionrole-policy-prod",
		KeyLogRetentionDays:     "7", // -c passes strings
		KeyMaxRequestBodyBytes:  "2097152",
		KeyReservedConcurrency:  "5",
		KeyThrottleRateLimit:    50.0, // cdk.json passes numbers
		KeyThrottleBurstLimit:   "100",
		KeyNag:                  true,
		KeyRenderTracking:       "false",
		KeyRenderRecordDays:     "30",
		KeyEventBusName:         "renders",
		KeyNotifyEmail:          "ops@example.com",
		KeyLogLevel:             "debug", // in any case
	})
	if err != nil {
		t.Fatal(err)
	}

	want := Default()
	want.StackName = "RendersProd"
	want.Remotion = Remotion{
		FunctionName:      "remotion-render-4-0-600-mem3008mb-disk4096mb-240sec",
		Region:            "eu-west-1",
		Version:           "4.0.600",
		ServeURL:          "https://remotionlambda-euwest1-abc.s3.eu-west-1.amazonaws.com/sites/prod/index.html",
		ServeURLAllowList: []string{"https://remotionlambda-*.s3.*.amazonaws.com/sites/prod/**", "https://renders.example.com/**"},
	}
	want.ExecutionPolicyName = "remotion-executionrole-policy-prod"
	want.LogRetentionDays = 7
	want.API.MaxRequestBodyBytes = 2097152
	want.API.ThrottleRateLimit, want.API.ThrottleBurstLimit = 50, 100
	want.ReservedConcurrency = 5
	want.Nag = true
	want.LogLevel = "DEBUG"
	// Without records, the queue is off; its other keys keep their defaults.
	want.Records = Records{Tracking: false, Days: 30, EventBusName: "renders", NotifyEmail: "ops@example.com",
		Queue: Queue{Enabled: false, MaxQueued: env.DefaultMaxQueuedRenders}, Spend: Default().Records.Spend}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got\n%+v\nwant\n%+v", c, want)
	}
}

func TestExplicitVersionWinsOverTheFunctionName(t *testing.T) {
	c, err := load(map[string]any{KeyRemotionFunctionName: "remotion-render-custom", KeyRemotionVersion: "4.0.530"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Remotion.Version != "4.0.530" {
		t.Errorf("Version = %q, want 4.0.530", c.Remotion.Version)
	}
}

func TestOutputBucketModes(t *testing.T) {
	tests := []struct {
		value string
		want  OutputBucket
	}{
		{"", OutputBucket{Mode: NoBucket, RemovalPolicy: Retain, RenderRoleName: "remotion-lambda-role"}},
		{"create", OutputBucket{Mode: CreateBucket, RemovalPolicy: Retain, RenderRoleName: "remotion-lambda-role"}},
		{"my-renders", OutputBucket{Mode: ImportBucket, Name: "my-renders", RemovalPolicy: Retain, RenderRoleName: "remotion-lambda-role"}},
	}
	for _, tt := range tests {
		c, err := load(map[string]any{KeyOutputBucket: tt.value})
		if err != nil {
			t.Fatalf("%q: %v", tt.value, err)
		}
		if !reflect.DeepEqual(c.OutputBucket, tt.want) {
			t.Errorf("outputBucket=%q: %+v, want %+v", tt.value, c.OutputBucket, tt.want)
		}
	}
}

// A serveUrl with the allow-list left at its default admits only that site's
// bucket: a caller cannot render a site of another account on this bill.
func TestDefaultAllowListNarrowsToTheServeURLsBucket(t *testing.T) {
	tests := []struct {
		name string
		ctx  map[string]any
		want []string
	}{
		{"no serveUrl", nil, []string{"https://remotionlambda-*.s3.*.amazonaws.com/sites/**"}},
		{"virtual-hosted site", map[string]any{KeyServeURL: "https://remotionlambda-useast1-abc.s3.us-east-1.amazonaws.com/sites/my-site/index.html"},
			[]string{"https://remotionlambda-useast1-abc.s3.us-east-1.amazonaws.com/**"}},
		{"path-style site", map[string]any{KeyServeURL: "https://s3.us-east-1.amazonaws.com/remotionlambda-useast1-abc/sites/my-site/index.html"},
			[]string{"https://s3.us-east-1.amazonaws.com/remotionlambda-useast1-abc/**"}},
		{"site elsewhere", map[string]any{KeyServeURL: "https://renders.example.com/site/index.html"},
			[]string{"https://renders.example.com/**"}},
		{"default stated in cdk.json", map[string]any{
			KeyServeURL:          "https://remotionlambda-useast1-abc.s3.us-east-1.amazonaws.com/sites/my-site/index.html",
			KeyServeURLAllowList: []any{"https://remotionlambda-*.s3.*.amazonaws.com/sites/**"},
		}, []string{"https://remotionlambda-useast1-abc.s3.us-east-1.amazonaws.com/**"}},
		{"list of the deployment's own", map[string]any{
			KeyServeURL:          "https://remotionlambda-useast1-abc.s3.us-east-1.amazonaws.com/sites/my-site/index.html",
			KeyServeURLAllowList: "https://remotionlambda-*.s3.*.amazonaws.com/sites/**,https://renders.example.com/**",
		}, []string{"https://remotionlambda-*.s3.*.amazonaws.com/sites/**", "https://renders.example.com/**"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(tt.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Remotion.ServeURLAllowList, tt.want) {
				t.Errorf("ServeURLAllowList = %v, want %v", c.Remotion.ServeURLAllowList, tt.want)
			}
		})
	}
}

func TestBadConfigurationFailsNamingTheKey(t *testing.T) {
	tests := []struct {
		key   string
		value any
		says  string
	}{
		{KeyStackName, "1stack", "stack name"},
		{KeyStackName, 42, "want a string"},
		{KeyRemotionFunctionName, "", "remotion-render-"},
		{KeyRemotionFunctionName, "my-renderer", "remotion-render-*"},
		{KeyRemotionFunctionName, "remotion-render-" + strings.Repeat("x", 60), "remotion-render-"},
		{KeyRemotionVersion, "4.0", "4.0.527"},
		{KeyRemotionVersion, "latest", "4.0.527"},
		{KeyRemotionRegion, "Europe", "us-east-1"},
		{KeyServeURL, "http://remotionlambda-a.s3.us-east-1.amazonaws.com/sites/x", "https URL"},
		{KeyServeURL, "sites/x", "https URL"},
		{KeyServeURLAllowList, "", "empty"},
		{KeyServeURLAllowList, "remotionlambda-*", "https://"},
		{KeyServeURLAllowList, []any{"https://a/**", 3}, "list of strings"},
		{KeyServeURLAllowList, 3.0, "list of strings"},
		{KeyExecutionPolicyName, "remotion policy", "IAM policy name"},
		{KeyExecutionPolicyName, strings.Repeat("p", 65), "IAM policy name"},
		{KeyLogRetentionDays, 10, "use one of"},
		{KeyLogRetentionDays, "a month", "whole number"},
		{KeyLogRetentionDays, 7.5, "whole number"},
		{KeyOutputBucket, "My_Bucket", "bucket name"},
		{KeyOutputBucket, "ab", "bucket name"},
		{KeyOutputBucket, "192.168.1.1", "IP address"},
		{KeyOutputBucket, "renders..bucket", "adjacent dots"},
		{KeyOutputBucket, "xn--renders", "reserved prefix"},
		{KeyOutputBucket, "renders-s3alias", "reserved suffix"},
		{KeyOutputBucket, "remotionlambda-useast1-abcdefghij", "Remotion's own"},
		{KeyOutputBucketRemovalPolicy, "delete", "retain"},
		{KeyRenderRoleName, "remotion lambda role", "IAM role name"},
		{KeyAPIAuthorization, "oauth", "iam (SigV4"},
		{KeyThrottleRateLimit, 0, "out of range"},
		{KeyThrottleRateLimit, "fast", "whole number"},
		{KeyThrottleBurstLimit, 100000, "out of range"},
		{KeyMaxRequestBodyBytes, 100, "out of range"},
		{KeyMaxRequestBodyBytes, 7 << 20, "6 MB"},
		{KeyReservedConcurrency, -1, "out of range"},
		{KeyNag, "maybe", "true or false"},
		{KeyRenderTracking, "maybe", "true or false"},
		{KeyRenderRecordDays, 0, "out of range"},
		{KeyRenderRecordDays, 4000, "out of range"},
		{KeyRenderRecordDays, "a year", "whole number"},
		{KeyEventBusName, "my bus", "EventBridge bus name"},
		{KeyNotifyEmail, "not-an-address", "email address"},
		{KeyNotifyEmail, "Me <me@example.com>", "email address"},
		{KeyLogLevel, "VERBOSE", "TRACE, DEBUG, INFO, WARN, ERROR, FATAL"},
		{KeyLogLevel, "", "use one of"},
		{KeyLogLevel, 3, "want a string"},
		{KeyRenderQueue, "maybe", "true or false"},
		{KeyRenderQueue, 1, "true or false"},
		{KeyRenderConcurrencyBudget, -1, "out of range"},
		{KeyRenderConcurrencyBudget, 100001, "from 0 to 100000"},
		{KeyRenderConcurrencyBudget, "all", "whole number"},
		{KeyRenderConcurrencyBudget, 10.5, "whole number"},
		{KeyDefaultRenderConcurrency, -1, "out of range"},
		{KeyDefaultRenderConcurrency, 201, "from 0 to 200"},
		{KeyDefaultRenderConcurrency, "auto", "whole number"},
		{KeyMaxQueuedRenders, 0, "from 1 to 2000"},
		{KeyMaxQueuedRenders, 2001, "one DynamoDB item"},
		{KeyMaxQueuedRenders, "many", "whole number"},
		{KeyMaxQueuedPerCaller, -1, "out of range"},
		{KeyMaxQueuedPerCaller, 2001, "from 0 to 2000"},
		{KeyMaxQueuedPerCaller, "few", "whole number"},
		{KeyDailySpendLimit, "-5", "no sign"},
		{KeyDailySpendLimit, -5.0, "no sign"},
		{KeyDailySpendLimit, "5 USD", "amount in USD"},
		{KeyDailySpendLimit, "$5", "amount in USD"},
		{KeyDailySpendLimit, "1e3", "no sign or exponent"},
		{KeyDailySpendLimit, "", "0 for no daily limit"},
		{KeyDailySpendLimit, ".5", "amount in USD"},
		{KeyDailySpendLimit, "0.0000000000001", "13 decimal places"},
		{KeyDailySpendLimit, true, "amount in USD"},
		{KeyDailySpendLimit, "0.01", "below estimatedCostPerRender=0.05"},
		{KeyMonthlySpendLimit, "-100", "no sign"},
		{KeyMonthlySpendLimit, "a lot", "0 for no monthly limit"},
		{KeyMonthlySpendLimit, 0.04, "below estimatedCostPerRender=0.05"},
		{KeyMonthlySpendLimit, []any{100}, "amount in USD"},
		{KeyEstimatedCostPerRender, "0", "give what a render typically costs"},
		{KeyEstimatedCostPerRender, 0.0, "such as 0.05"},
		{KeyEstimatedCostPerRender, "0.000", "such as 0.05"},
		{KeyEstimatedCostPerRender, "-0.05", "no sign"},
		{KeyEstimatedCostPerRender, "five cents", "what a render costs in USD"},
		{KeyEstimatedCostPerRender, "0.1234567890123", "at most 12"},
		{KeySpendAlarmShare, "0", "above 0 and at most 1"},
		{KeySpendAlarmShare, 1.5, "out of range"},
		{KeySpendAlarmShare, "10%", "share of monthlySpendLimit"},
		{KeySpendAlarmShare, -0.1, "no sign"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s=%v", tt.key, tt.value), func(t *testing.T) {
			_, err := load(map[string]any{tt.key: tt.value})

			if err == nil {
				t.Fatal("the configuration was accepted")
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "context key "+tt.key+": ") || !strings.Contains(msg, tt.says) {
				t.Errorf("error %q does not name the key %s and say %q", msg, tt.key, tt.says)
			}
		})
	}
}

func TestNameWithoutVersionNeedsTheVersionKey(t *testing.T) {
	_, err := load(map[string]any{KeyRemotionFunctionName: "remotion-render-bds9aab"})

	if err == nil || !strings.Contains(err.Error(), "context key remotionVersion:") || !strings.Contains(err.Error(), "-c remotionVersion=") {
		t.Errorf("err = %v, want one that says to set remotionVersion", err)
	}
}

func TestJWTNeedsAnIssuerAndAnAudience(t *testing.T) {
	tests := []struct {
		ctx map[string]any
		key string
	}{
		{map[string]any{KeyAPIAuthorization: "jwt", KeyJWTAudience: "a"}, KeyJWTIssuer},
		{map[string]any{KeyAPIAuthorization: "jwt", KeyJWTIssuer: "http://issuer.example", KeyJWTAudience: "a"}, KeyJWTIssuer},
		{map[string]any{KeyAPIAuthorization: "jwt", KeyJWTIssuer: "https://issuer.example"}, KeyJWTAudience},
		{map[string]any{KeyAPIAuthorization: "jwt", KeyJWTIssuer: "https://issuer.example", KeyJWTAudience: "a", KeyJWTAdminScope: "renders admin"}, KeyJWTAdminScope},
	}
	for _, tt := range tests {
		_, err := load(tt.ctx)
		if err == nil || !strings.HasPrefix(err.Error(), "context key "+tt.key+": ") {
			t.Errorf("%v: err = %v, want one naming %s", tt.ctx, err, tt.key)
		}
	}
}

func TestQueueKeysSetTheirFields(t *testing.T) {
	defaults := Queue{Enabled: true, MaxQueued: env.DefaultMaxQueuedRenders}
	tests := []struct {
		name string
		ctx  map[string]any
		want Queue
	}{
		{"default: on, budget from the account, Remotion picks, 1000 in line", nil, defaults},
		{"off", map[string]any{KeyRenderQueue: false}, Queue{Enabled: false, MaxQueued: env.DefaultMaxQueuedRenders}},
		{"off with -c", map[string]any{KeyRenderQueue: "false"}, Queue{Enabled: false, MaxQueued: env.DefaultMaxQueuedRenders}},
		{"on, stated", map[string]any{KeyRenderQueue: "true"}, defaults},
		{"budget", map[string]any{KeyRenderConcurrencyBudget: "500"}, Queue{Enabled: true, ConcurrencyBudget: 500, MaxQueued: env.DefaultMaxQueuedRenders}},
		{"largest budget", map[string]any{KeyRenderConcurrencyBudget: 100000.0}, Queue{Enabled: true, ConcurrencyBudget: 100000, MaxQueued: env.DefaultMaxQueuedRenders}},
		{"default concurrency", map[string]any{KeyDefaultRenderConcurrency: 50.0}, Queue{Enabled: true, DefaultConcurrency: 50, MaxQueued: env.DefaultMaxQueuedRenders}},
		{"Remotion's most", map[string]any{KeyDefaultRenderConcurrency: "200"}, Queue{Enabled: true, DefaultConcurrency: 200, MaxQueued: env.DefaultMaxQueuedRenders}},
		{"shortest line", map[string]any{KeyMaxQueuedRenders: "1"}, Queue{Enabled: true, MaxQueued: 1}},
		{"longest line", map[string]any{KeyMaxQueuedRenders: 2000.0}, Queue{Enabled: true, MaxQueued: env.MaxMaxQueuedRenders}},
		{"per caller", map[string]any{KeyMaxQueuedPerCaller: "10"}, Queue{Enabled: true, MaxQueued: env.DefaultMaxQueuedRenders, MaxQueuedPerCaller: 10}},
		{"all of them", map[string]any{KeyRenderConcurrencyBudget: 500, KeyDefaultRenderConcurrency: 50, KeyMaxQueuedRenders: 200, KeyMaxQueuedPerCaller: 10},
			Queue{Enabled: true, ConcurrencyBudget: 500, DefaultConcurrency: 50, MaxQueued: 200, MaxQueuedPerCaller: 10}},
		// The queue keeps its line in the render table: without records it
		// is off, unless asked for (below).
		{"without records", map[string]any{KeyRenderTracking: false}, Queue{Enabled: false, MaxQueued: env.DefaultMaxQueuedRenders}},
		{"without records, off", map[string]any{KeyRenderTracking: "false", KeyRenderQueue: "false"}, Queue{Enabled: false, MaxQueued: env.DefaultMaxQueuedRenders}},
		{"without records, tuned", map[string]any{KeyRenderTracking: false, KeyMaxQueuedRenders: 5},
			Queue{Enabled: false, MaxQueued: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(tt.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if c.Records.Queue != tt.want {
				t.Errorf("Queue = %+v, want %+v", c.Records.Queue, tt.want)
			}
		})
	}
}

// The queue keeps its line in the render table: without it, the queue is
// off, whatever renderQueue says, so that renderTracking=false alone gives
// the minimal stack of Remotion's guide.
func TestTheQueueIsOffWithoutRecords(t *testing.T) {
	for _, on := range []any{nil, true, "true"} {
		c, err := load(map[string]any{KeyRenderTracking: false, KeyRenderQueue: on})

		if err != nil || c.Records.Queue.Enabled {
			t.Errorf("renderQueue=%v: queue on: %v, err %v; want it off", on, c.Records.Queue.Enabled, err)
		}
	}
}

func TestSpendKeysSetTheirFields(t *testing.T) {
	defaults := Default().Records.Spend
	tests := []struct {
		name string
		ctx  map[string]any
		want Spend
	}{
		{"default: no limits, 0.05 a render, a tenth of the month a day", nil,
			Spend{DailyLimit: "0", MonthlyLimit: "0", EstimatedCostPerRender: "0.05", AlarmShare: "0.1"}},
		{"as cdk.json states them", map[string]any{KeyDailySpendLimit: 0.0, KeyMonthlySpendLimit: 0.0, KeyEstimatedCostPerRender: 0.05, KeySpendAlarmShare: 0.1}, defaults},
		{"-c strings", map[string]any{KeyDailySpendLimit: "5", KeyMonthlySpendLimit: "100", KeyEstimatedCostPerRender: "0.07", KeySpendAlarmShare: "0.2"},
			Spend{DailyLimit: "5", MonthlyLimit: "100", EstimatedCostPerRender: "0.07", AlarmShare: "0.2"}},
		{"cdk.json numbers", map[string]any{KeyDailySpendLimit: 12.5, KeyMonthlySpendLimit: 250.0, KeyEstimatedCostPerRender: 0.125, KeySpendAlarmShare: 1.0},
			Spend{DailyLimit: "12.5", MonthlyLimit: "250", EstimatedCostPerRender: "0.125", AlarmShare: "1"}},
		{"whole numbers", map[string]any{KeyDailySpendLimit: 5, KeyMonthlySpendLimit: json.Number("100")},
			Spend{DailyLimit: "5", MonthlyLimit: "100", EstimatedCostPerRender: "0.05", AlarmShare: "0.1"}},
		{"written without its zeros", map[string]any{KeyDailySpendLimit: " 005.00 ", KeyMonthlySpendLimit: "0100.50", KeyEstimatedCostPerRender: "0.050"},
			Spend{DailyLimit: "5", MonthlyLimit: "100.5", EstimatedCostPerRender: "0.05", AlarmShare: "0.1"}},
		{"12 decimal places, exactly", map[string]any{KeyEstimatedCostPerRender: "0.000000000001", KeyDailySpendLimit: "0.123456789012"},
			Spend{DailyLimit: "0.123456789012", MonthlyLimit: "0", EstimatedCostPerRender: "0.000000000001", AlarmShare: "0.1"}},
		{"a limit of exactly one render", map[string]any{KeyDailySpendLimit: "0.05", KeyMonthlySpendLimit: "0.05"},
			Spend{DailyLimit: "0.05", MonthlyLimit: "0.05", EstimatedCostPerRender: "0.05", AlarmShare: "0.1"}},
		{"stated as none without records", map[string]any{KeyRenderTracking: false, KeyDailySpendLimit: "0", KeyMonthlySpendLimit: 0.0}, defaults},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(tt.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if c.Records.Spend != tt.want {
				t.Errorf("Spend = %+v, want %+v", c.Records.Spend, tt.want)
			}
		})
	}
}

// The ledger is in the render table: a limit without it would not hold,
// and is refused naming both keys, rather than dropped.
func TestASpendLimitNeedsRecords(t *testing.T) {
	for _, key := range []string{KeyDailySpendLimit, KeyMonthlySpendLimit} {
		for _, tracking := range []any{false, "false"} {
			_, err := load(map[string]any{KeyRenderTracking: tracking, key: "10"})

			if err == nil {
				t.Fatalf("%s=10 with renderTracking=%v was accepted", key, tracking)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "context key "+key+": ") || !strings.Contains(msg, KeyRenderTracking+"=true") ||
				!strings.Contains(msg, key+"=0") {
				t.Errorf("error %q does not name %s and %s and say how to fix it", msg, key, KeyRenderTracking)
			}
		}
	}
}

func TestHasLimitAndTheAlarmThreshold(t *testing.T) {
	c, err := load(map[string]any{KeyDailySpendLimit: "2.5", KeyMonthlySpendLimit: "100", KeySpendAlarmShare: "0.15"})
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Records.Spend; !s.HasDailyLimit() || !s.HasMonthlyLimit() || s.AlarmThreshold() != 15 {
		t.Errorf("%+v: daily %v, monthly %v, threshold %v; want true, true, 15", s, s.HasDailyLimit(), s.HasMonthlyLimit(), s.AlarmThreshold())
	}
	if s := Default().Records.Spend; s.HasDailyLimit() || s.HasMonthlyLimit() {
		t.Errorf("the default has limits: %+v", s)
	}
	// Exact, where the doubles' product is not: 0.1 × 0.3 is not 0.03.
	s := Spend{MonthlyLimit: "0.3", AlarmShare: "0.1"}
	if got := s.AlarmThreshold(); got != 0.03 {
		t.Errorf("AlarmThreshold() = %v, want 0.03", got)
	}
}

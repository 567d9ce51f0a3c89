package stacks

import (
	"encoding/json"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"remotion-lambda-iam/config"
)

// These tests share one jsii kernel: none runs in parallel, and each
// configuration is synthesized once and its template shared. They skip
// bundling and the CloudFormation validator; the root package's smoke test
// runs both.

// configurations are the deployments the tests synthesize, by name: every
// one that changes the resources.
var configurations = map[string]map[string]any{
	"default":          nil,
	"created bucket":   {config.KeyOutputBucket: "create"},
	"destroyed bucket": {config.KeyOutputBucket: "create", config.KeyOutputBucketRemovalPolicy: "destroy"},
	"imported bucket":  {config.KeyOutputBucket: "my-renders", config.KeyRenderRoleName: "my-render-role"},
	"jwt": {config.KeyAPIAuthorization: "jwt", config.KeyJWTAudience: "client-a,client-b",
		config.KeyJWTIssuer: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf"},
	"no auth": {config.KeyAPIAuthorization: "none"},
	// cdk.json states renderQueue=true, which needs renderTracking.
	"untracked": {config.KeyRenderTracking: false, config.KeyRenderQueue: false},
	"email":     {config.KeyNotifyEmail: "ops@example.com", config.KeyEventBusName: "renders"},
	"jwt admin": {config.KeyAPIAuthorization: "jwt", config.KeyJWTAudience: "client-a",
		config.KeyJWTIssuer: "https://issuer.example", config.KeyJWTAdminScope: "renders/admin"},
	"overrides": {
		config.KeyStackName:            "RendersProd",
		config.KeyRemotionFunctionName: "remotion-render-4-0-600-mem3008mb-disk4096mb-240sec",
		config.KeyRemotionRegion:       "eu-west-1",
		config.KeyServeURL:             "https://remotionlambda-euwest1-abc.s3.eu-west-1.amazonaws.com/sites/prod/index.html",
		config.KeyServeURLAllowList:    "https://remotionlambda-*.s3.*.amazonaws.com/sites/prod/**, https://renders.example.com/**",
		config.KeyExecutionPolicyName:  "remotion-executionrole-policy-prod",
		config.KeyLogRetentionDays:     "7",
		config.KeyMaxRequestBodyBytes:  "2097152",
		config.KeyReservedConcurrency:  "5",
		config.KeyThrottleRateLimit:    "50",
		config.KeyThrottleBurstLimit:   "100",
		config.KeyLogLevel:             "debug",
	},
	"queue off": {config.KeyRenderQueue: false},
	"queue tuned": {config.KeyRenderConcurrencyBudget: 500, config.KeyDefaultRenderConcurrency: 50,
		config.KeyMaxQueuedRenders: 200, config.KeyMaxQueuedPerCaller: 10},
	"spend limits": {config.KeyDailySpendLimit: "5", config.KeyMonthlySpendLimit: "100", config.KeyEstimatedCostPerRender: "0.08",
		config.KeySpendAlarmShare: "0.15", config.KeyNotifyEmail: "ops@example.com"},
	// Without the queue's row on the dashboard; the spend alarm without a topic.
	"monthly limit, queue off": {config.KeyMonthlySpendLimit: 250.5, config.KeyRenderQueue: false},
}

// cdkJSONContext is the context of cdk.json, feature flags included: what
// `cdk synth` passes.
func cdkJSONContext(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../cdk.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatalf("cdk.json: %v", err)
	}
	return file.Context
}

// testApp is an app with cdk.json's context and the overrides. Unless bundle,
// it skips bundling and the CloudFormation validator.
func testApp(t *testing.T, overrides map[string]any, bundle bool) (awscdk.App, config.Config) {
	t.Helper()
	ctx := cdkJSONContext(t)
	maps.Copy(ctx, overrides)
	cfg, err := config.Load(func(key string) any { return ctx[key] })
	if err != nil {
		t.Fatal(err)
	}
	props := &awscdk.AppProps{Context: &ctx, Outdir: jsii.String(t.TempDir())}
	if !bundle {
		ctx["aws:cdk:bundling-stacks"] = []string{}
		props.BuiltinCloudFormationValidation = jsii.Bool(false)
	}
	return awscdk.NewApp(props), cfg
}

func newTestStack(app awscdk.App, cfg config.Config) awscdk.Stack {
	return NewRemotionRenderStack(app, cfg.StackName, &RemotionRenderStackProps{Config: cfg, FunctionDir: "../lambda"})
}

type synthesized struct {
	stack    awscdk.Stack
	template map[string]any
}

var (
	synthMu    sync.Mutex
	synthCache = map[string]*synthesized{}
)

// synth synthesizes one of the configurations, once per test binary.
func synth(t *testing.T, name string) *synthesized {
	t.Helper()
	overrides, ok := configurations[name]
	if !ok {
		t.Fatalf("no configuration %q", name)
	}
	return synthWith(t, overrides)
}

// synthWith synthesizes a configuration once per test binary, however many
// names it goes by: the cache is keyed by the overrides themselves.
func synthWith(t *testing.T, overrides map[string]any) *synthesized {
	t.Helper()
	key, _ := json.Marshal(overrides) // map keys in order
	synthMu.Lock()
	defer synthMu.Unlock()
	if s, ok := synthCache[string(key)]; ok {
		return s
	}
	app, cfg := testApp(t, overrides, false)
	var s synthesized
	noPanic(t, func() {
		s.stack = newTestStack(app, cfg)
		b, _ := json.Marshal(assertions.Template_FromStack(s.stack, nil).ToJSON())
		json.Unmarshal(b, &s.template)
	})
	synthCache[string(key)] = &s
	return &s
}

func defaultStack(t *testing.T) *synthesized { return synth(t, "default") }

// noPanic turns a jsii error, which the Go bindings raise as a panic, into a
// test failure.
func noPanic(t *testing.T, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("CDK error: %v", r)
		}
	}()
	f()
}

// resources returns the template's resources of one type, by logical ID.
func (s *synthesized) resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.template["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

// byID returns the one resource of a type whose logical ID starts with prefix.
func (s *synthesized) byID(t *testing.T, typ, prefix string) (string, map[string]any) {
	t.Helper()
	var found []string
	for id := range s.resources(typ) {
		if strings.HasPrefix(id, prefix) {
			found = append(found, id)
		}
	}
	if len(found) != 1 {
		t.Fatalf("resources of type %s named %s*: %v, want exactly 1", typ, prefix, found)
	}
	return found[0], s.resources(typ)[found[0]]
}

// only returns the one resource of a type, failing unless there is exactly one.
func (s *synthesized) only(t *testing.T, typ string) (string, map[string]any) {
	t.Helper()
	rs := s.resources(typ)
	if len(rs) != 1 {
		t.Fatalf("%d resources of type %s, want exactly 1", len(rs), typ)
	}
	for id, r := range rs {
		return id, r
	}
	return "", nil
}

// environment returns the trigger function's environment variables.
func (s *synthesized) environment(t *testing.T) map[string]any {
	t.Helper()
	_, fn := s.only(t, "AWS::Lambda::Function")
	return props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)
}

func props(r map[string]any) map[string]any { return r["Properties"].(map[string]any) }

// asJSON normalizes a Go value to what it is as JSON, for comparisons.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	json.Unmarshal(b, &out)
	return out
}

func assertEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if g, w := asJSON(t, got), asJSON(t, want); !reflect.DeepEqual(g, w) {
		gb, _ := json.MarshalIndent(g, "", "  ")
		wb, _ := json.MarshalIndent(w, "", "  ")
		t.Errorf("%s:\n got %s\nwant %s", what, gb, wb)
	}
}

func ref(id string) map[string]any       { return map[string]any{"Ref": id} }
func arnOf(id string) map[string]any     { return map[string]any{"Fn::GetAtt": []any{id, "Arn"}} }
func joined(parts ...any) map[string]any { return map[string]any{"Fn::Join": []any{"", parts}} }

func TestDefaultStackHasExactlyTheseResources(t *testing.T) {
	s := defaultStack(t)
	want := map[string]int{
		"AWS::IAM::ManagedPolicy":        1,
		"AWS::IAM::Role":                 1,
		"AWS::IAM::Policy":               1, // the role's logs, records and queue
		"AWS::Logs::LogGroup":            2, // the function's logs, the API's access logs
		"AWS::Lambda::Function":          1,
		"AWS::Lambda::Permission":        11, // one per route, and the queue's schedule
		"AWS::ApiGatewayV2::Api":         1,
		"AWS::ApiGatewayV2::Stage":       1,
		"AWS::ApiGatewayV2::Integration": 1,
		"AWS::ApiGatewayV2::Route":       10,
		"AWS::Events::Rule":              1, // the queue's schedule
		"AWS::DynamoDB::Table":           1,
		"AWS::SecretsManager::Secret":    1,
		"AWS::CloudWatch::Alarm":         1, // panics; none on spend without monthlySpendLimit
		"AWS::CloudWatch::Dashboard":     1,
	}
	got := map[string]int{}
	for _, r := range s.template["Resources"].(map[string]any) {
		got[r.(map[string]any)["Type"].(string)]++
	}
	assertEqual(t, "resource counts", got, want)
}

// A deployed stack updates in place only if no logical ID changes.
// testdata/logical-ids.json holds the IDs of stacks deployed before render
// records: with renderTracking=false the stack is exactly that one, and with
// records it keeps every one of those IDs.
func TestLogicalIDsStayAsDeployed(t *testing.T) {
	b, err := os.ReadFile("testdata/logical-ids.json")
	if err != nil {
		t.Fatal(err)
	}
	var deployed map[string]struct {
		Resources []string `json:"resources"`
		Outputs   []string `json:"outputs"`
	}
	if err := json.Unmarshal(b, &deployed); err != nil {
		t.Fatal(err)
	}
	ids := func(s *synthesized, section string) []string {
		return slices.Sorted(maps.Keys(s.template[section].(map[string]any)))
	}
	for name, want := range deployed {
		t.Run(name, func(t *testing.T) {
			untracked := maps.Clone(configurations[name])
			if untracked == nil {
				untracked = map[string]any{}
			}
			untracked[config.KeyRenderTracking] = false
			untracked[config.KeyRenderQueue] = false
			minimal := synthWith(t, untracked)
			assertEqual(t, "resource logical IDs without records", ids(minimal, "Resources"), want.Resources)
			assertEqual(t, "output logical IDs without records", ids(minimal, "Outputs"), want.Outputs)

			tracked := synth(t, name)
			for _, section := range []struct {
				name string
				want []string
			}{{"Resources", want.Resources}, {"Outputs", want.Outputs}} {
				have := ids(tracked, section.name)
				for _, id := range section.want {
					if !slices.Contains(have, id) {
						t.Errorf("%s %s is gone with records on: a deployed stack would replace it", section.name, id)
					}
				}
			}
		})
	}
}

func TestOutputsAreDescribedAndThePolicyIsExported(t *testing.T) {
	s := defaultStack(t)
	outputs := s.template["Outputs"].(map[string]any)
	for _, name := range []string{"ApiUrl", "ExecutionPolicyArn", "ExecutionRoleArn", "FunctionName", "RenderTableName", "WebhookSecretArn", "DashboardUrl"} {
		o, ok := outputs[name].(map[string]any)
		if !ok {
			t.Errorf("no output %s", name)
			continue
		}
		if d, _ := o["Description"].(string); d == "" {
			t.Errorf("output %s has no description", name)
		}
	}
	policyID, _ := s.only(t, "AWS::IAM::ManagedPolicy")
	assertEqual(t, "ExecutionPolicyArn", outputs["ExecutionPolicyArn"], map[string]any{
		"Description": outputs["ExecutionPolicyArn"].(map[string]any)["Description"],
		"Value":       ref(policyID),
		"Export":      map[string]any{"Name": "RemotionRenderStack-ExecutionPolicyArn"},
	})
	if len(outputs) != 7 {
		t.Errorf("%d outputs, want 7 (the four of the minimal stack, RenderTableName, WebhookSecretArn and DashboardUrl)", len(outputs))
	}
}

func TestStackNameNamesTheStackAndTheExport(t *testing.T) {
	s := synth(t, "overrides")

	if name := *s.stack.StackName(); name != "RendersProd" {
		t.Errorf("stack name = %s", name)
	}
	export := s.template["Outputs"].(map[string]any)["ExecutionPolicyArn"].(map[string]any)["Export"]
	assertEqual(t, "export", export, map[string]any{"Name": "RendersProd-ExecutionPolicyArn"})
}

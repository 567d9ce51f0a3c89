package main

import (
	"debug/elf"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"

	"remotion-lambda-iam/policies"
	"remotion-lambda-iam/stacks"
)

// These tests share one jsii kernel: none runs in parallel, and each
// configuration is synthesized once and its template shared.

// cdkJSONContext is the context of cdk.json: what `cdk synth` passes.
func cdkJSONContext(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("cdk.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		App     string         `json:"app"`
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatalf("cdk.json: %v", err)
	}
	return file.Context
}

// newTestApp makes an app with cdk.json's context and overrides; template
// tests skip bundling and the CloudFormation validator, which one test runs.
func newTestApp(t *testing.T, overrides map[string]any, bundle bool) awscdk.App {
	t.Helper()
	ctx := cdkJSONContext(t)
	maps.Copy(ctx, overrides)
	props := &awscdk.AppProps{Context: &ctx, Outdir: jsii.String(t.TempDir())}
	if !bundle {
		ctx["aws:cdk:bundling-stacks"] = []string{}
		props.BuiltinCloudFormationValidation = jsii.Bool(false)
	}
	return awscdk.NewApp(props)
}

type synthesized struct {
	stack    awscdk.Stack
	template map[string]any
}

var (
	synthMu    sync.Mutex
	synthCache = map[string]*synthesized{}
)

// synth synthesizes the stack for a named configuration once per test binary.
func synth(t *testing.T, name string, overrides map[string]any) *synthesized {
	t.Helper()
	synthMu.Lock()
	defer synthMu.Unlock()
	if s, ok := synthCache[name]; ok {
		return s
	}
	app := newTestApp(t, overrides, false)
	stack, err := newStack(app)
	if err != nil {
		t.Fatalf("configuration %s: %v", name, err)
	}
	var tmpl map[string]any
	noPanic(t, func() {
		raw := assertions.Template_FromStack(stack, nil).ToJSON()
		b, _ := json.Marshal(raw)
		json.Unmarshal(b, &tmpl)
	})
	s := &synthesized{stack: stack, template: tmpl}
	synthCache[name] = s
	return s
}

func defaultStack(t *testing.T) *synthesized { return synth(t, "default", nil) }

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
		"AWS::IAM::Policy":               1, // the role's log writing
		"AWS::Logs::LogGroup":            2, // the function\'s logs, the API\'s access logs
		"AWS::Lambda::Function":          1,
		"AWS::Lambda::Permission":        2, // one per route
		"AWS::ApiGatewayV2::Api":         1,
		"AWS::ApiGatewayV2::Stage":       1,
		"AWS::ApiGatewayV2::Integration": 1,
		"AWS::ApiGatewayV2::Route":       2,
	}
	got := map[string]int{}
	for _, r := range s.template["Resources"].(map[string]any) {
		got[r.(map[string]any)["Type"].(string)]++
	}
	assertEqual(t, "resource counts", got, want)
}

func TestManagedPolicyIsRemotionsDocumentVerbatim(t *testing.T) {
	_, policy := defaultStack(t).only(t, "AWS::IAM::ManagedPolicy")

	var want struct {
		Version   string
		Statement []map[string]any
	}
	if err := json.Unmarshal(policies.ExecutionRolePolicyJSON(), &want); err != nil {
		t.Fatal(err)
	}
	// CloudFormation output writes a one-element list as its element, which
	// IAM reads the same; nothing else may differ, statement order included.
	for _, s := range want.Statement {
		for _, k := range []string{"Action", "Resource"} {
			if l, ok := s[k].([]any); ok && len(l) == 1 {
				s[k] = l[0]
			}
		}
	}
	assertEqual(t, "PolicyDocument", props(policy)["PolicyDocument"], want)
	if name := props(policy)["ManagedPolicyName"]; name != "remotion-executionrole-policy" {
		t.Errorf("ManagedPolicyName = %v", name)
	}
}

func TestExecutionRoleIsTrustedByLambdaOnlyAndHasThePolicy(t *testing.T) {
	s := defaultStack(t)
	policyID, _ := s.only(t, "AWS::IAM::ManagedPolicy")
	_, role := s.only(t, "AWS::IAM::Role")

	assertEqual(t, "AssumeRolePolicyDocument", props(role)["AssumeRolePolicyDocument"], map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Action":    "sts:AssumeRole",
			"Effect":    "Allow",
			"Principal": map[string]any{"Service": "lambda.amazonaws.com"},
		}},
	})
	assertEqual(t, "ManagedPolicyArns", props(role)["ManagedPolicyArns"], []any{ref(policyID)})
}

func TestRoleWritesLogsToItsOwnLogGroupOnly(t *testing.T) {
	s := defaultStack(t)
	roleID, _ := s.only(t, "AWS::IAM::Role")
	logsID, logs := s.byID(t, "AWS::Logs::LogGroup", "TriggerFunctionLogs")
	_, policy := s.only(t, "AWS::IAM::Policy")

	assertEqual(t, "log policy roles", props(policy)["Roles"], []any{ref(roleID)})
	assertEqual(t, "log policy statements", props(policy)["PolicyDocument"].(map[string]any)["Statement"], []any{map[string]any{
		"Action":   []any{"logs:CreateLogStream", "logs:PutLogEvents"},
		"Effect":   "Allow",
		"Resource": arnOf(logsID),
	}})
	if days := props(logs)["RetentionInDays"]; days != 30.0 {
		t.Errorf("RetentionInDays = %v, want 30", days)
	}
}

func TestTriggerFunctionIsGoOnArm64(t *testing.T) {
	s := defaultStack(t)
	roleID, _ := s.only(t, "AWS::IAM::Role")
	logsID, _ := s.byID(t, "AWS::Logs::LogGroup", "TriggerFunctionLogs")
	_, fn := s.only(t, "AWS::Lambda::Function")
	p := props(fn)

	for key, want := range map[string]any{
		"Runtime":       "provided.al2023",
		"Architectures": []any{"arm64"},
		"Handler":       "bootstrap",
		"MemorySize":    256.0,
		"Timeout":       28.0,
		"Role":          arnOf(roleID),
		"LoggingConfig": map[string]any{"LogFormat": "JSON", "LogGroup": ref(logsID)},
	} {
		assertEqual(t, key, p[key], want)
	}
	if timeout := p["Timeout"].(float64); timeout >= 30 {
		t.Errorf("Timeout %v s is not below the API integration's 30 s", timeout)
	}
	assertEqual(t, "Environment", p["Environment"], map[string]any{"Variables": map[string]any{
		"REMOTION_FUNCTION_NAME":        "remotion-render-4-0-527-mem2048mb-disk2048mb-120sec",
		"REMOTION_REGION":               ref("AWS::Region"),
		"REMOTION_VERSION":              "4.0.527",
		"REMOTION_SERVE_URL":            "",
		"REMOTION_SERVE_URL_ALLOW_LIST": "https://remotionlambda-*.s3.*.amazonaws.com/sites/**",
		"MAX_REQUEST_BODY_BYTES":        "1048576",
	}})
	if _, ok := p["ReservedConcurrentExecutions"]; ok {
		t.Error("concurrency is reserved by default; new accounts cannot reserve any")
	}
}

func TestHTTPAPIRoutesBothPathsToTheFunctionWithIAMAuth(t *testing.T) {
	s := defaultStack(t)
	apiID, api := s.only(t, "AWS::ApiGatewayV2::Api")
	fnID, _ := s.only(t, "AWS::Lambda::Function")
	integrationID, integration := s.only(t, "AWS::ApiGatewayV2::Integration")

	if props(api)["ProtocolType"] != "HTTP" {
		t.Errorf("ProtocolType = %v", props(api)["ProtocolType"])
	}
	assertEqual(t, "integration", map[string]any{
		"ApiId":                ref(apiID),
		"IntegrationType":      props(integration)["IntegrationType"],
		"IntegrationUri":       props(integration)["IntegrationUri"],
		"PayloadFormatVersion": props(integration)["PayloadFormatVersion"],
	}, map[string]any{
		"ApiId":                ref(apiID),
		"IntegrationType":      "AWS_PROXY",
		"IntegrationUri":       arnOf(fnID),
		"PayloadFormatVersion": "2.0",
	})
	routes := map[string]any{}
	for _, r := range s.resources("AWS::ApiGatewayV2::Route") {
		p := props(r)
		routes[p["RouteKey"].(string)] = map[string]any{"AuthorizationType": p["AuthorizationType"], "Target": p["Target"]}
	}
	target := joined("integrations/", ref(integrationID))
	assertEqual(t, "routes", routes, map[string]any{
		"POST /renders":           map[string]any{"AuthorizationType": "AWS_IAM", "Target": target},
		"GET /renders/{renderId}": map[string]any{"AuthorizationType": "AWS_IAM", "Target": target},
	})
}

func TestOutputsAreDescribedAndThePolicyIsExported(t *testing.T) {
	s := defaultStack(t)
	outputs := s.template["Outputs"].(map[string]any)
	for _, name := range []string{"ApiUrl", "ExecutionPolicyArn", "ExecutionRoleArn", "FunctionName"} {
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
	if len(outputs) != 4 {
		t.Errorf("%d outputs, want 4", len(outputs))
	}
}

func TestContextOverridesTakeEffect(t *testing.T) {
	s := synth(t, "overrides", map[string]any{
		keyStackName:           "RendersProd",
		keyFunctionName:        "remotion-render-4-0-600-mem3008mb-disk4096mb-240sec",
		keyRegion:              "eu-west-1",
		keyServeURL:            "https://remotionlambda-euwest1-abc.s3.eu-west-1.amazonaws.com/sites/prod/index.html",
		keyServeURLAllowList:   "https://remotionlambda-*.s3.*.amazonaws.com/sites/prod/**, https://renders.example.com/**",
		keyPolicyName:          "remotion-executionrole-policy-prod",
		keyLogRetentionDays:    "7", // -c passes strings
		keyMaxRequestBodyBytes: "2097152",
		keyReservedConcurrency: "5",
		keyThrottleRateLimit:   "50",
		keyThrottleBurstLimit:  "100",
	})
	_, fn := s.only(t, "AWS::Lambda::Function")
	assertEqual(t, "Environment", props(fn)["Environment"], map[string]any{"Variables": map[string]any{
		"REMOTION_FUNCTION_NAME":        "remotion-render-4-0-600-mem3008mb-disk4096mb-240sec",
		"REMOTION_REGION":               "eu-west-1",
		"REMOTION_VERSION":              "4.0.600",
		"REMOTION_SERVE_URL":            "https://remotionlambda-euwest1-abc.s3.eu-west-1.amazonaws.com/sites/prod/index.html",
		"REMOTION_SERVE_URL_ALLOW_LIST": "https://remotionlambda-*.s3.*.amazonaws.com/sites/prod/**,https://renders.example.com/**",
		"MAX_REQUEST_BODY_BYTES":        "2097152",
	}})
	if got := props(fn)["ReservedConcurrentExecutions"]; got != 5.0 {
		t.Errorf("ReservedConcurrentExecutions = %v, want 5", got)
	}
	_, stage := s.only(t, "AWS::ApiGatewayV2::Stage")
	assertEqual(t, "throttling", props(stage)["DefaultRouteSettings"], map[string]any{"ThrottlingRateLimit": 50.0, "ThrottlingBurstLimit": 100.0})
	_, policy := s.only(t, "AWS::IAM::ManagedPolicy")
	if name := props(policy)["ManagedPolicyName"]; name != "remotion-executionrole-policy-prod" {
		t.Errorf("ManagedPolicyName = %v", name)
	}
	for id, logs := range s.resources("AWS::Logs::LogGroup") {
		if days := props(logs)["RetentionInDays"]; days != 7.0 {
			t.Errorf("%s RetentionInDays = %v, want 7", id, days)
		}
	}
	if name := *s.stack.StackName(); name != "RendersProd" {
		t.Errorf("stack name = %s", name)
	}
	export := s.template["Outputs"].(map[string]any)["ExecutionPolicyArn"].(map[string]any)["Export"]
	assertEqual(t, "export", export, map[string]any{"Name": "RendersProd-ExecutionPolicyArn"})
}

func TestExplicitVersionWinsOverTheFunctionName(t *testing.T) {
	s := synth(t, "explicit version", map[string]any{keyFunctionName: "remotion-render-custom", keyVersion: "4.0.530"})
	_, fn := s.only(t, "AWS::Lambda::Function")
	env := props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)
	if env["REMOTION_VERSION"] != "4.0.530" || env["REMOTION_FUNCTION_NAME"] != "remotion-render-custom" {
		t.Errorf("env = %v", env)
	}
}

func TestBadConfigurationFailsNamingTheKey(t *testing.T) {
	tests := []struct {
		key   string
		value any
		says  string
	}{
		{keyStackName, "1stack", "stack name"},
		{keyStackName, 42, "want a string"},
		{keyFunctionName, "", "remotion-render-"},
		{keyFunctionName, "my-renderer", "remotion-render-*"},
		{keyFunctionName, "remotion-render-" + strings.Repeat("x", 60), "remotion-render-"},
		{keyVersion, "4.0", "4.0.527"},
		{keyVersion, "latest", "4.0.527"},
		{keyRegion, "Europe", "us-east-1"},
		{keyServeURL, "http://remotionlambda-a.s3.us-east-1.amazonaws.com/sites/x", "https URL"},
		{keyServeURL, "sites/x", "https URL"},
		{keyServeURLAllowList, "", "empty"},
		{keyServeURLAllowList, "remotionlambda-*", "https://"},
		{keyServeURLAllowList, []any{"https://a/**", 3}, "list of strings"},
		{keyServeURLAllowList, 3.0, "list of strings"},
		{keyPolicyName, "remotion policy", "IAM policy name"},
		{keyPolicyName, strings.Repeat("p", 65), "IAM policy name"},
		{keyLogRetentionDays, 10, "use one of"},
		{keyLogRetentionDays, "a month", "whole number"},
		{keyLogRetentionDays, 7.5, "whole number"},
		{keyOutputBucket, "My_Bucket", "bucket name"},
		{keyOutputBucket, "ab", "bucket name"},
		{keyOutputBucket, "192.168.1.1", "IP address"},
		{keyOutputBucket, "renders..bucket", "adjacent dots"},
		{keyOutputBucket, "xn--renders", "reserved prefix"},
		{keyOutputBucket, "renders-s3alias", "reserved suffix"},
		{keyOutputBucket, "remotionlambda-useast1-abcdefghij", "Remotion's own"},
		{keyOutputBucketRemoval, "delete", "retain"},
		{keyRenderRoleName, "remotion lambda role", "IAM role name"},
		{keyAPIAuthorization, "oauth", "iam (SigV4"},
		{keyThrottleRateLimit, 0, "out of range"},
		{keyThrottleRateLimit, "fast", "whole number"},
		{keyThrottleBurstLimit, 100000, "out of range"},
		{keyMaxRequestBodyBytes, 100, "out of range"},
		{keyMaxRequestBodyBytes, 7 << 20, "6 MB"},
		{keyReservedConcurrency, -1, "out of range"},
		{keyNag, "maybe", "true or false"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s=%v", tt.key, tt.value), func(t *testing.T) {
			app := newTestApp(t, map[string]any{tt.key: tt.value}, false)

			_, err := newStack(app)

			if err == nil {
				t.Fatal("the configuration was accepted")
			}
			if msg := err.Error(); !strings.Contains(msg, "context key "+tt.key+":") || !strings.Contains(msg, tt.says) {
				t.Errorf("error %q does not name the key %s and say %q", msg, tt.key, tt.says)
			}
		})
	}
}

func TestNameWithoutVersionNeedsTheVersionKey(t *testing.T) {
	app := newTestApp(t, map[string]any{keyFunctionName: "remotion-render-bds9aab"}, false)

	_, err := newStack(app)

	if err == nil || !strings.Contains(err.Error(), "context key remotionVersion:") || !strings.Contains(err.Error(), "-c remotionVersion=") {
		t.Errorf("err = %v, want one that says to set remotionVersion", err)
	}
}

// A fork reads the defaults in cdk.json; the code must apply the same ones
// when a key is absent.
func TestCDKJSONStatesTheCodesDefaults(t *testing.T) {
	ctx := cdkJSONContext(t)
	for key, want := range defaults {
		got, ok := ctx[key]
		if !ok {
			t.Errorf("cdk.json has no %s", key)
			continue
		}
		assertEqual(t, key, got, want)
	}
	b, _ := os.ReadFile("cdk.json")
	var file map[string]any
	json.Unmarshal(b, &file)
	if file["app"] != "go run ." {
		t.Errorf(`cdk.json app = %v, want "go run ." (offline: no go mod download)`, file["app"])
	}
}

// The one test that runs the real bundling, and the CloudFormation validator.
func TestSynthBuildsAnArm64BootstrapForTheFunction(t *testing.T) {
	app := newTestApp(t, nil, true)
	stack, err := newStack(app)
	if err != nil {
		t.Fatal(err)
	}
	var assembly cxapi.CloudAssembly
	noPanic(t, func() { assembly = app.Synth(nil) })

	tmpl := map[string]any{}
	b, err := os.ReadFile(filepath.Join(*assembly.Directory(), *stack.TemplateFile()))
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(b, &tmpl)
	s := &synthesized{template: tmpl}
	_, fn := s.only(t, "AWS::Lambda::Function")
	key, _ := props(fn)["Code"].(map[string]any)["S3Key"].(string)
	hash := strings.TrimSuffix(key, ".zip")
	path := filepath.Join(*assembly.Directory(), "asset."+hash, "bootstrap")

	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no bootstrap in the function's asset: %v", err)
	}
	if info.Mode().Perm()&0o111 == 0 {
		t.Errorf("bootstrap is not executable: %v", info.Mode())
	}
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("bootstrap is not an ELF binary: %v", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 || f.Type != elf.ET_EXEC || f.OSABI != elf.ELFOSABI_NONE {
		t.Errorf("bootstrap is %v %v %v, want a linux/arm64 executable", f.Machine, f.Type, f.OSABI)
	}
	if f.Section(".symtab") != nil {
		t.Error("bootstrap keeps its symbol table; it should be built with -ldflags \"-s -w\"")
	}
}

func TestCompileErrorFailsSynthWithTheCompilersMessage(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module broken\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() { undefinedThing() }\n"), 0o644)
	app := newTestApp(t, nil, true)
	cfg, err := contextReader{app}.renderConfig()
	if err != nil {
		t.Fatal(err)
	}

	var failure any
	func() {
		defer func() { failure = recover() }()
		stacks.NewRemotionRenderStack(app, "Broken", &stacks.RemotionRenderStackProps{Render: cfg, FunctionDir: dir})
		app.Synth(nil)
	}()

	if failure == nil {
		t.Fatal("synthesis succeeded with a function that does not compile")
	}
	if msg := fmt.Sprint(failure); !strings.Contains(msg, "undefined: undefinedThing") {
		t.Errorf("synthesis failed without the compiler's message: %s", msg)
	}
}

func TestNoOutputBucketByDefault(t *testing.T) {
	s := defaultStack(t)
	for _, typ := range []string{"AWS::S3::Bucket", "AWS::S3::BucketPolicy"} {
		if n := len(s.resources(typ)); n != 0 {
			t.Errorf("%d resources of type %s, want none", n, typ)
		}
	}
	_, fn := s.only(t, "AWS::Lambda::Function")
	if _, ok := props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)["OUTPUT_BUCKET"]; ok {
		t.Error("the function is told of an output bucket")
	}
}

// outputBucketPolicy returns the inline policy the output bucket adds to the
// execution role: the policy other than the one for logs.
func outputBucketPolicy(t *testing.T, s *synthesized) map[string]any {
	t.Helper()
	for id, p := range s.resources("AWS::IAM::Policy") {
		if strings.HasPrefix(id, "OutputBucketPolicy") {
			return props(p)
		}
	}
	t.Fatal("no inline output bucket policy")
	return nil
}

func TestCreatedOutputBucketIsPrivateAndOnlyTheRenderRoleWritesIt(t *testing.T) {
	s := synth(t, "created bucket", map[string]any{keyOutputBucket: "create"})
	bucketID, bucket := outputBucket(t, s)
	roleID, _ := s.only(t, "AWS::IAM::Role")
	_, bucketPolicy := bucketPolicyOf(t, s, bucketID)

	assertEqual(t, "PublicAccessBlockConfiguration", props(bucket)["PublicAccessBlockConfiguration"], map[string]any{
		"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
	})
	assertEqual(t, "OwnershipControls", props(bucket)["OwnershipControls"], map[string]any{
		"Rules": []any{map[string]any{"ObjectOwnership": "BucketOwnerEnforced"}},
	})
	assertEqual(t, "BucketEncryption", props(bucket)["BucketEncryption"], map[string]any{
		"ServerSideEncryptionConfiguration": []any{map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}}},
	})
	if bucket["DeletionPolicy"] != "Retain" || bucket["UpdateReplacePolicy"] != "Retain" {
		t.Errorf("deletion policy %v / %v, want the renders kept", bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"])
	}

	renderRole := map[string]any{"AWS": joined("arn:", ref("AWS::Partition"), ":iam::", ref("AWS::AccountId"), ":role/remotion-lambda-role")}
	objects := joined(arnOf(bucketID), "/*")
	assertEqual(t, "bucket policy", props(bucketPolicy)["PolicyDocument"].(map[string]any)["Statement"], []any{
		map[string]any{
			"Action":    "s3:*",
			"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
			"Effect":    "Deny",
			"Principal": map[string]any{"AWS": "*"},
			"Resource":  []any{arnOf(bucketID), objects},
		},
		map[string]any{"Action": []any{"s3:GetObject", "s3:PutObject"}, "Effect": "Allow", "Principal": renderRole, "Resource": objects, "Sid": "RemotionRenderRoleWritesRenders"},
		map[string]any{"Action": "s3:ListBucket", "Effect": "Allow", "Principal": renderRole, "Resource": arnOf(bucketID), "Sid": "RemotionRenderRoleListsRenders"},
	})

	inline := outputBucketPolicy(t, s)
	assertEqual(t, "inline policy roles", inline["Roles"], []any{ref(roleID)})
	assertEqual(t, "inline statement", inline["PolicyDocument"].(map[string]any)["Statement"], []any{map[string]any{
		"Action":   "s3:PutObject",
		"Effect":   "Allow",
		"Resource": []any{arnOf(bucketID), objects},
	}})

	_, fn := s.only(t, "AWS::Lambda::Function")
	assertEqual(t, "OUTPUT_BUCKET", props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)["OUTPUT_BUCKET"], ref(bucketID))
	assertEqual(t, "OutputBucketName", s.template["Outputs"].(map[string]any)["OutputBucketName"].(map[string]any)["Value"], ref(bucketID))
}

// outputBucket returns the created output bucket, not its access log bucket.
func outputBucket(t *testing.T, s *synthesized) (string, map[string]any) {
	t.Helper()
	if n := len(s.resources("AWS::S3::Bucket")); n != 2 {
		t.Fatalf("%d buckets, want the output bucket and its access log bucket", n)
	}
	for id, b := range s.resources("AWS::S3::Bucket") {
		if !strings.HasPrefix(id, "OutputBucketAccessLogs") {
			return id, b
		}
	}
	return "", nil
}

func bucketPolicyOf(t *testing.T, s *synthesized, bucketID string) (string, map[string]any) {
	t.Helper()
	for id, p := range s.resources("AWS::S3::BucketPolicy") {
		if reflect.DeepEqual(props(p)["Bucket"], ref(bucketID)) {
			return id, p
		}
	}
	t.Fatalf("no bucket policy on %s", bucketID)
	return "", nil
}

func TestCreatedOutputBucketLogsAccessToAPrivateBucket(t *testing.T) {
	s := synth(t, "created bucket", map[string]any{keyOutputBucket: "create"})
	_, bucket := outputBucket(t, s)
	logsID, logs := s.byID(t, "AWS::S3::Bucket", "OutputBucketAccessLogs")

	assertEqual(t, "LoggingConfiguration", props(bucket)["LoggingConfiguration"], map[string]any{
		"DestinationBucketName": ref(logsID), "LogFilePrefix": "output-bucket/",
	})
	for _, key := range []string{"PublicAccessBlockConfiguration", "OwnershipControls", "BucketEncryption"} {
		assertEqual(t, "access log bucket "+key, props(logs)[key], props(bucket)[key])
	}
	_, policy := bucketPolicyOf(t, s, logsID)
	var deliveries, denies int
	for _, st := range props(policy)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
		st := st.(map[string]any)
		if reflect.DeepEqual(st["Principal"], map[string]any{"Service": "logging.s3.amazonaws.com"}) && st["Effect"] == "Allow" {
			deliveries++
		}
		if st["Effect"] == "Deny" && reflect.DeepEqual(st["Condition"], map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}) {
			denies++
		}
	}
	if deliveries != 1 || denies != 1 {
		t.Errorf("access log bucket policy: %d log delivery grants and %d SSL denials, want 1 and 1", deliveries, denies)
	}
}

func TestCreatedOutputBucketCanBeDestroyedWithTheStack(t *testing.T) {
	s := synth(t, "destroyed bucket", map[string]any{keyOutputBucket: "create", keyOutputBucketRemoval: "destroy"})
	_, bucket := outputBucket(t, s)

	if bucket["DeletionPolicy"] != "Delete" {
		t.Errorf("DeletionPolicy = %v, want Delete", bucket["DeletionPolicy"])
	}
	if n := len(s.resources("Custom::S3AutoDeleteObjects")); n != 2 {
		t.Errorf("%d auto-delete custom resources, want 2 to empty the bucket and its access logs", n)
	}
}

func TestImportedOutputBucketIsNamedNotCreated(t *testing.T) {
	s := synth(t, "imported bucket", map[string]any{keyOutputBucket: "my-renders", keyRenderRoleName: "my-render-role"})
	for _, typ := range []string{"AWS::S3::Bucket", "AWS::S3::BucketPolicy"} {
		if n := len(s.resources(typ)); n != 0 {
			t.Errorf("%d resources of type %s, want none", n, typ)
		}
	}
	bucketArn := joined("arn:", ref("AWS::Partition"), ":s3:::my-renders")
	assertEqual(t, "inline statement", outputBucketPolicy(t, s)["PolicyDocument"].(map[string]any)["Statement"], []any{map[string]any{
		"Action":   "s3:PutObject",
		"Effect":   "Allow",
		"Resource": []any{bucketArn, joined("arn:", ref("AWS::Partition"), ":s3:::my-renders/*")},
	}})
	_, fn := s.only(t, "AWS::Lambda::Function")
	if got := props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)["OUTPUT_BUCKET"]; got != "my-renders" {
		t.Errorf("OUTPUT_BUCKET = %v", got)
	}

	var warnings []*cxapi.SynthesisMessage
	noPanic(t, func() {
		found := assertions.Annotations_FromStack(s.stack).FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("my-renders.*my-render-role")))
		warnings = *found
	})
	if len(warnings) != 1 {
		t.Errorf("%d warnings about the imported bucket's policy, want 1", len(warnings))
	}
}

func TestAPIStageThrottlesAndWritesJSONAccessLogs(t *testing.T) {
	s := defaultStack(t)
	apiID, _ := s.only(t, "AWS::ApiGatewayV2::Api")
	logsID, logs := s.byID(t, "AWS::Logs::LogGroup", "HttpApiAccessLogs")
	_, stage := s.only(t, "AWS::ApiGatewayV2::Stage")
	p := props(stage)

	assertEqual(t, "stage", map[string]any{"ApiId": p["ApiId"], "StageName": p["StageName"], "AutoDeploy": p["AutoDeploy"]},
		map[string]any{"ApiId": ref(apiID), "StageName": "$default", "AutoDeploy": true})
	assertEqual(t, "throttling", p["DefaultRouteSettings"], map[string]any{"ThrottlingRateLimit": 10.0, "ThrottlingBurstLimit": 20.0})
	settings := p["AccessLogSettings"].(map[string]any)
	assertEqual(t, "access log destination", settings["DestinationArn"], arnOf(logsID))
	var format map[string]string
	if err := json.Unmarshal([]byte(settings["Format"].(string)), &format); err != nil {
		t.Fatalf("access log format is not JSON: %v", err)
	}
	if format["requestId"] != "$context.requestId" || format["status"] != "$context.status" || format["routeKey"] != "$context.routeKey" {
		t.Errorf("access log format = %v", format)
	}
	if days := props(logs)["RetentionInDays"]; days != 30.0 {
		t.Errorf("access log RetentionInDays = %v, want 30", days)
	}
}

func routeAuth(s *synthesized) map[string]any {
	out := map[string]any{}
	for _, r := range s.resources("AWS::ApiGatewayV2::Route") {
		p := props(r)
		out[p["RouteKey"].(string)] = map[string]any{"AuthorizationType": p["AuthorizationType"], "AuthorizerId": p["AuthorizerId"]}
	}
	return out
}

func TestJWTAuthorizationUsesTheIssuerAndAudience(t *testing.T) {
	issuer := "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf"
	s := synth(t, "jwt", map[string]any{keyAPIAuthorization: "jwt", keyJWTIssuer: issuer, keyJWTAudience: "client-a,client-b"})
	authID, authorizer := s.only(t, "AWS::ApiGatewayV2::Authorizer")

	assertEqual(t, "authorizer", map[string]any{"AuthorizerType": props(authorizer)["AuthorizerType"], "JwtConfiguration": props(authorizer)["JwtConfiguration"]},
		map[string]any{"AuthorizerType": "JWT", "JwtConfiguration": map[string]any{"Issuer": issuer, "Audience": []any{"client-a", "client-b"}}})
	both := map[string]any{"AuthorizationType": "JWT", "AuthorizerId": ref(authID)}
	assertEqual(t, "routes", routeAuth(s), map[string]any{"POST /renders": both, "GET /renders/{renderId}": both})
}

func TestNoAuthorizationMustBeAskedForAndWarns(t *testing.T) {
	s := synth(t, "no auth", map[string]any{keyAPIAuthorization: "none"})

	none := map[string]any{"AuthorizationType": "NONE", "AuthorizerId": nil}
	assertEqual(t, "routes", routeAuth(s), map[string]any{"POST /renders": none, "GET /renders/{renderId}": none})
	var warnings []*cxapi.SynthesisMessage
	noPanic(t, func() {
		warnings = *assertions.Annotations_FromStack(s.stack).FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("apiAuthorization is none")))
	})
	if len(warnings) != 1 {
		t.Errorf("%d warnings about the open API, want 1", len(warnings))
	}
	if def := defaultStack(t); len(def.resources("AWS::ApiGatewayV2::Authorizer")) != 0 || routeAuth(def)["POST /renders"].(map[string]any)["AuthorizationType"] != "AWS_IAM" {
		t.Error("the default is not IAM authorization")
	}
}

func TestJWTNeedsAnIssuerAndAnAudience(t *testing.T) {
	tests := []struct {
		overrides map[string]any
		key       string
	}{
		{map[string]any{keyAPIAuthorization: "jwt", keyJWTAudience: "a"}, keyJWTIssuer},
		{map[string]any{keyAPIAuthorization: "jwt", keyJWTIssuer: "http://issuer.example", keyJWTAudience: "a"}, keyJWTIssuer},
		{map[string]any{keyAPIAuthorization: "jwt", keyJWTIssuer: "https://issuer.example"}, keyJWTAudience},
	}
	for _, tt := range tests {
		_, err := newStack(newTestApp(t, tt.overrides, false))
		if err == nil || !strings.Contains(err.Error(), "context key "+tt.key+":") {
			t.Errorf("%v: err = %v, want one naming %s", tt.overrides, err, tt.key)
		}
	}
}

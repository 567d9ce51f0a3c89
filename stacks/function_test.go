package stacks

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"remotion-lambda-iam/config"
)

func TestRoleWritesLogsToItsOwnLogGroupOnly(t *testing.T) {
	s := synth(t, "untracked")
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
	tableID, _ := s.only(t, "AWS::DynamoDB::Table")
	secretID, _ := s.only(t, "AWS::SecretsManager::Secret")
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
		"LoggingConfig": map[string]any{"LogFormat": "JSON", "LogGroup": ref(logsID), "ApplicationLogLevel": "INFO", "SystemLogLevel": "WARN"},
	} {
		assertEqual(t, key, p[key], want)
	}
	if timeout := p["Timeout"].(float64); timeout >= 30 {
		t.Errorf("Timeout %v s is not below the API integration's 30 s", timeout)
	}
	assertEqual(t, "Environment", p["Environment"], map[string]any{"Variables": map[string]any{
		"REMOTION_FUNCTION_NAME":         "remotion-render-4-0-527-mem2048mb-disk2048mb-120sec",
		"REMOTION_REGION":                ref("AWS::Region"),
		"REMOTION_VERSION":               "4.0.527",
		"REMOTION_SERVE_URL":             "",
		"REMOTION_SERVE_URL_ALLOW_LIST":  "https://remotionlambda-*.s3.*.amazonaws.com/sites/**",
		"MAX_REQUEST_BODY_BYTES":         "1048576",
		"REMOTION_EXECUTION_POLICY_NAME": "remotion-executionrole-policy",
		"RENDER_TABLE":                   ref(tableID),
		"RENDER_RECORD_DAYS":             "90",
		"WEBHOOK_SECRET_ARN":             ref(secretID),
		"RENDER_QUEUE":                   "true",
		"RENDER_CONCURRENCY_BUDGET":      "0",
		"DEFAULT_RENDER_CONCURRENCY":     "0",
		"MAX_QUEUED_RENDERS":             "1000",
		"MAX_QUEUED_PER_CALLER":          "0",
		"ESTIMATED_COST_PER_RENDER":      "0.05",
	}})
	if _, ok := p["ReservedConcurrentExecutions"]; ok {
		t.Error("concurrency is reserved by default; new accounts cannot reserve any")
	}
}

func TestCompileErrorFailsSynthWithTheCompilersMessage(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module broken\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() { undefinedThing() }\n"), 0o644)
	app, cfg := testApp(t, nil, true)

	var failure any
	func() {
		defer func() { failure = recover() }()
		NewRemotionRenderStack(app, "Broken", &RemotionRenderStackProps{Config: cfg, FunctionDir: dir})
		app.Synth(nil)
	}()

	if failure == nil {
		t.Fatal("synthesis succeeded with a function that does not compile")
	}
	if msg := fmt.Sprint(failure); !strings.Contains(msg, "undefined: undefinedThing") {
		t.Errorf("synthesis failed without the compiler's message: %s", msg)
	}
}

func TestContextOverridesReachTheFunction(t *testing.T) {
	s := synth(t, "overrides")
	tableID, _ := s.only(t, "AWS::DynamoDB::Table")
	secretID, _ := s.only(t, "AWS::SecretsManager::Secret")
	_, fn := s.only(t, "AWS::Lambda::Function")

	assertEqual(t, "Environment", s.environment(t), map[string]any{
		"REMOTION_FUNCTION_NAME":         "remotion-render-4-0-600-mem3008mb-disk4096mb-240sec",
		"REMOTION_REGION":                "eu-west-1",
		"REMOTION_VERSION":               "4.0.600",
		"REMOTION_SERVE_URL":             "https://remotionlambda-euwest1-abc.s3.eu-west-1.amazonaws.com/sites/prod/index.html",
		"REMOTION_SERVE_URL_ALLOW_LIST":  "https://remotionlambda-*.s3.*.amazonaws.com/sites/prod/**,https://renders.example.com/**",
		"MAX_REQUEST_BODY_BYTES":         "2097152",
		"REMOTION_EXECUTION_POLICY_NAME": "remotion-executionrole-policy-prod",
		"RENDER_TABLE":                   ref(tableID),
		"RENDER_RECORD_DAYS":             "90",
		"WEBHOOK_SECRET_ARN":             ref(secretID),
		"RENDER_QUEUE":                   "true",
		"RENDER_CONCURRENCY_BUDGET":      "0",
		"DEFAULT_RENDER_CONCURRENCY":     "0",
		"MAX_QUEUED_RENDERS":             "1000",
		"MAX_QUEUED_PER_CALLER":          "0",
		"ESTIMATED_COST_PER_RENDER":      "0.05",
	})
	if got := props(fn)["LoggingConfig"].(map[string]any)["ApplicationLogLevel"]; got != "DEBUG" {
		t.Errorf("ApplicationLogLevel = %v, want DEBUG", got)
	}
	if got := props(fn)["ReservedConcurrentExecutions"]; got != 5.0 {
		t.Errorf("ReservedConcurrentExecutions = %v, want 5", got)
	}
	for id, logs := range s.resources("AWS::Logs::LogGroup") {
		if days := props(logs)["RetentionInDays"]; days != 7.0 {
			t.Errorf("%s RetentionInDays = %v, want 7", id, days)
		}
	}
}

// config.Load accepts a number of days only if the stack can express it.
func TestEveryRetentionConfigAcceptsHasALogRetention(t *testing.T) {
	for _, days := range config.RetentionDays {
		if _, ok := retentionDays[days]; !ok {
			t.Errorf("config accepts %d days; the stack has no retention for it", days)
		}
	}
	if len(retentionDays) != len(config.RetentionDays) {
		t.Errorf("the stack knows %d retentions, config %d", len(retentionDays), len(config.RetentionDays))
	}
}

// config.Load accepts a log level only if Lambda knows it.
func TestEveryLogLevelConfigAcceptsIsAnApplicationLogLevel(t *testing.T) {
	for _, level := range config.LogLevels {
		if l, ok := applicationLogLevels[level]; !ok || string(l) != level {
			t.Errorf("config accepts the log level %s; the stack has %q for it", level, l)
		}
	}
	if len(applicationLogLevels) != len(config.LogLevels) {
		t.Errorf("the stack knows %d log levels, config %d", len(applicationLogLevels), len(config.LogLevels))
	}
}

// A level Lambda does not know stops the app before any synthesis, naming
// the key and the levels it takes.
func TestAnUnknownLogLevelIsRefusedNamingTheKeyAndTheLevels(t *testing.T) {
	ctx := cdkJSONContext(t)
	ctx[config.KeyLogLevel] = "VERBOSE"

	_, err := config.Load(func(key string) any { return ctx[key] })

	want := `context key logLevel: "VERBOSE" is not a level Lambda knows; use one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

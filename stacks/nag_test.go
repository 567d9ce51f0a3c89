package stacks

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"remotion-lambda-iam/config"
)

// nagReport is cdk-nag's JSON report of one rule pack over one stack.
type nagReport struct {
	Lines []struct {
		RuleID          string `json:"ruleId"`
		ResourceID      string `json:"resourceId"`
		Compliance      string `json:"compliance"`
		ExceptionReason string `json:"exceptionReason"`
		RuleLevel       string `json:"ruleLevel"`
	} `json:"lines"`
}

// The AwsSolutions pack runs over every configuration that changes the
// resources. A finding that is not suppressed on its exact resource, with a
// reason, fails the test, and fails `cdk synth -c nag=true` too.
func TestAwsSolutionsChecksFindNothingUnsuppressed(t *testing.T) {
	for name, overrides := range configurations {
		t.Run(name, func(t *testing.T) {
			ctx := map[string]any{config.KeyNag: true}
			maps.Copy(ctx, overrides)
			app, cfg := testApp(t, ctx, false)
			stack := newTestStack(app, cfg)

			var assembly string
			func() {
				// Unsuppressed errors fail synthesis; the report says which.
				defer func() { recover() }()
				assembly = *app.Synth(nil).Directory()
			}()
			report := readNagReport(t, app, stack)

			if assembly == "" {
				t.Error("synthesis failed")
			}
			suppressed := 0
			for _, l := range report.Lines {
				switch l.Compliance {
				case "Compliant", "Not Applicable":
				case "Suppressed":
					suppressed++
					if len(l.ExceptionReason) < 40 {
						t.Errorf("%s on %s is suppressed without a real reason: %q", l.RuleID, l.ResourceID, l.ExceptionReason)
					}
				default:
					t.Errorf("%s %s on %s (%s)", l.RuleLevel, l.RuleID, l.ResourceID, l.Compliance)
				}
			}
			if suppressed == 0 {
				t.Error("no suppression was applied: the report is not what this test expects")
			}
		})
	}
}

func readNagReport(t *testing.T, app awscdk.App, stack awscdk.Stack) nagReport {
	t.Helper()
	// cdk-nag names the report AwsSolutions-<stage>-<stack>-NagReport.json; an app has no stage name.
	paths, _ := filepath.Glob(filepath.Join(*app.Outdir(), "AwsSolutions-*-"+*stack.StackName()+"-NagReport.json"))
	if len(paths) != 1 {
		t.Fatalf("cdk-nag reports: %v, want one", paths)
	}
	b, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	var r nagReport
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("cdk-nag report: %v", err)
	}
	if len(r.Lines) == 0 {
		t.Fatal("the cdk-nag report is empty")
	}
	return r
}

// accept adds to the findings recorded on a resource: the execution role's
// default policy, which several parts of the stack extend, keeps them all.
func TestAcceptCollectsTheFindingsOfEveryCall(t *testing.T) {
	first := finding{"AwsSolutions-IAM5", "Resource::a/*", "the first reason"}
	second := finding{"AwsSolutions-IAM5", "Resource::*", "the second reason"}
	whole := finding{"AwsSolutions-S1", "", "a finding on the whole rule"}
	var got any
	noPanic(t, func() {
		stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Accept"), nil)
		resource := awscdk.NewCfnResource(stack, jsii.String("Resource"), &awscdk.CfnResourceProps{Type: jsii.String("AWS::SNS::Topic")})
		accept(resource, first)
		accept(resource, second, whole)
		got = assertions.Template_FromStack(stack, nil).ToJSON()
	})

	resources := asJSON(t, got).(map[string]any)["Resources"].(map[string]any)
	assertEqual(t, "metadata", resources["Resource"].(map[string]any)["Metadata"], map[string]any{"cdk_nag": map[string]any{"rules_to_suppress": []any{
		map[string]any{"id": first.rule, "applies_to": []any{first.appliesTo}, "reason": first.reason},
		map[string]any{"id": second.rule, "applies_to": []any{second.appliesTo}, "reason": second.reason},
		map[string]any{"id": whole.rule, "reason": whole.reason},
	}}})
}

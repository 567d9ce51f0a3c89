package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// finding is a cdk-nag AwsSolutions finding this design accepts, on one
// resource, with the reason a reviewer reads.
type finding struct {
	rule      string
	appliesTo string // the exact finding for granular rules such as IAM5; empty for the whole rule
	reason    string
}

// accept records findings as suppressions on the resource they concern, in
// the template metadata cdk-nag reads ("cdk_nag": {"rules_to_suppress": …}),
// as cdknag.NagSuppressions_AddResourceSuppressions writes it. Writing it
// here spares every synthesis without nag the loading of cdk-nag; the nag
// tests prove cdk-nag honours it. A resource that several parts of the stack
// extend, such as the execution role's default policy, collects the
// findings of every call.
func accept(c constructs.IConstruct, findings ...finding) {
	resource, ok := c.(awscdk.CfnResource)
	if child := c.Node().DefaultChild(); child != nil {
		resource, ok = child.(awscdk.CfnResource)
	}
	if !ok {
		panic(fmt.Sprintf("stacks: %s has no CloudFormation resource to record cdk-nag suppressions on", *c.Node().Path()))
	}
	// The metadata is one value per key: a call adds to what earlier calls
	// recorded rather than replacing it.
	var rules []any
	if recorded, ok := resource.GetMetadata(jsii.String("cdk_nag")).(map[string]any); ok {
		rules, _ = recorded["rules_to_suppress"].([]any)
	}
	for _, f := range findings {
		rule := map[string]any{"reason": f.reason, "id": f.rule}
		if f.appliesTo != "" {
			rule["applies_to"] = []any{f.appliesTo}
		}
		rules = append(rules, rule)
	}
	resource.AddMetadata(jsii.String("cdk_nag"), map[string]any{"rules_to_suppress": rules})
}

// checkWithCdkNag runs cdk-nag's AwsSolutions pack over the stack during
// synthesis: an unsuppressed error fails it, and every finding goes into a
// JSON report beside the template.
func checkWithCdkNag(stack awscdk.Stack) {
	awscdk.Aspects_Of(stack).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{
		Verbose:       jsii.Bool(true),
		ReportFormats: &[]cdknag.NagReportFormat{cdknag.NagReportFormat_JSON},
	}), nil)
}

// executionPolicyFindings are the wildcards of Remotion's documented policy.
// The policy is kept verbatim so that it can be compared with Remotion's;
// a wildcard it gains in a new release fails the cdk-nag test until it is
// reviewed here.
var executionPolicyFindings = []finding{
	{"AwsSolutions-IAM5", "Resource::*",
		"Remotion's documented policy, verbatim: servicequotas:Get*/RequestServiceQuotaIncrease, iam:SimulatePrincipalPolicy, s3:ListAllMyBuckets and lambda:ListFunctions/GetFunction support no resource-level restriction."},
	{"AwsSolutions-IAM5", "Resource::arn:aws:iam::*:role/remotion-lambda-role",
		"Remotion's documented policy, verbatim: iam:PassRole only on Remotion's own render role name; the account is the caller's own."},
	{"AwsSolutions-IAM5", "Resource::arn:aws:s3:::remotionlambda-*",
		"Remotion's documented policy, verbatim: Remotion names its buckets remotionlambda-<region>-<random> when it creates them, so the name is not known in advance; no other bucket is covered."},
	{"AwsSolutions-IAM5", "Resource::arn:aws:lambda:*:*:function:remotion-render-*",
		"Remotion's documented policy, verbatim: render function names encode version, memory, disk and timeout; only functions named remotion-render-* are covered."},
	{"AwsSolutions-IAM5", "Resource::arn:aws:logs:*:*:log-group:/aws/lambda/remotion-render-*",
		"Remotion's documented policy, verbatim: only the render functions' own log groups, to set their retention."},
	{"AwsSolutions-IAM5", "Resource::arn:aws:lambda:*:678892195805:layer:remotion-binaries-*",
		"Remotion's documented policy, verbatim: reads only Remotion's published binary layers, in Remotion's publishing account."},
}

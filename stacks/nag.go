package stacks

import (
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

// accept records findings as suppressions on the construct they concern.
func accept(c constructs.IConstruct, findings ...finding) {
	suppressions := make([]*cdknag.NagPackSuppression, 0, len(findings))
	for _, f := range findings {
		s := &cdknag.NagPackSuppression{Id: jsii.String(f.rule), Reason: jsii.String(f.reason)}
		if f.appliesTo != "" {
			s.AppliesTo = &[]any{f.appliesTo}
		}
		suppressions = append(suppressions, s)
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &suppressions, jsii.Bool(false))
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

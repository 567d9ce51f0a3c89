package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"remotion-lambda-iam/policies"
)

// newExecutionPolicy is step 1 of Remotion's IAM-roles guide: the
// customer-managed policy, statement for statement the JSON Remotion
// documents.
func newExecutionPolicy(scope constructs.Construct, name string) awsiam.ManagedPolicy {
	document, err := policies.ExecutionRoleDocument()
	if err != nil {
		panic(err) // the embedded file is checked by tests; this is a broken build
	}
	policy := awsiam.NewManagedPolicy(scope, jsii.String("ExecutionPolicy"), &awsiam.ManagedPolicyProps{
		ManagedPolicyName: jsii.String(name),
		Description:       jsii.String("Lets a role call renderMediaOnLambda() and getRenderProgress(), as Remotion documents"),
		Document:          document,
	})
	accept(policy, executionPolicyFindings...)
	return policy
}

// newExecutionRole is step 2: the role the trigger function runs as, trusted
// by Lambda only, with the policy attached. Lambda gives it temporary
// credentials; no key is stored anywhere.
func newExecutionRole(scope constructs.Construct, policy awsiam.IManagedPolicy) awsiam.Role {
	return awsiam.NewRole(scope, jsii.String("ExecutionRole"), &awsiam.RoleProps{
		AssumedBy:       awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description:     jsii.String("Execution role of the Remotion trigger function: temporary credentials, no stored keys"),
		ManagedPolicies: &[]awsiam.IManagedPolicy{policy},
	})
}

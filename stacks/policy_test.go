package stacks

import (
	"encoding/json"
	"testing"

	"remotion-lambda-iam/policies"
)

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

func TestPolicyNameComesFromTheConfiguration(t *testing.T) {
	_, policy := synth(t, "overrides").only(t, "AWS::IAM::ManagedPolicy")

	if name := props(policy)["ManagedPolicyName"]; name != "remotion-executionrole-policy-prod" {
		t.Errorf("ManagedPolicyName = %v", name)
	}
}

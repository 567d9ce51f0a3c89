// Package policies holds the IAM policy documents Remotion documents, as
// data, and turns them into IAM constructs.
package policies

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
)

// executionRolePolicy is Remotion's role policy, verbatim. To update it for a
// newer Remotion release, paste the output of
// `npx remotion lambda policies user` over remotion-executionrole-policy.json.
//
//go:embed remotion-executionrole-policy.json
var executionRolePolicy []byte

// ExecutionRolePolicyJSON returns the role policy document as JSON.
func ExecutionRolePolicyJSON() []byte {
	return append([]byte(nil), executionRolePolicy...)
}

// ExecutionRoleDocument returns the role policy document, statement for
// statement. It is never minimized: the synthesized document is meant to be
// recognizably the one Remotion documents.
func ExecutionRoleDocument() (awsiam.PolicyDocument, error) {
	var doc struct {
		Version   string
		Statement []map[string]any
	}
	if err := json.Unmarshal(executionRolePolicy, &doc); err != nil {
		return nil, fmt.Errorf("parse remotion-executionrole-policy.json: %w", err)
	}
	if doc.Version != "2012-10-17" || len(doc.Statement) == 0 {
		return nil, fmt.Errorf("parse remotion-executionrole-policy.json: want Version 2012-10-17 and statements, got %q and %d", doc.Version, len(doc.Statement))
	}
	statements := make([]awsiam.PolicyStatement, 0, len(doc.Statement))
	for _, s := range doc.Statement {
		statements = append(statements, awsiam.PolicyStatement_FromJson(s))
	}
	return awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{
		Statements: &statements,
		Minimize:   jsii.Bool(false),
	}), nil
}

// OutputBucketStatement is the statement Remotion's guide adds inline for
// rendering into another bucket: s3:PutObject on the bucket and its objects,
// nothing more.
func OutputBucketStatement(bucketArn string) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("s3:PutObject"),
		Resources: jsii.Strings(bucketArn, bucketArn+"/*"),
	})
}

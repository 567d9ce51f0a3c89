package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"remotion-lambda-iam/lambda/records/table"
)

// renderTableActions are the item actions the function uses, and all the
// role may do on the table.
var renderTableActions = []string{
	"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query",
}

// newRenderTable is the table of render records and idempotency keys:
// on-demand, recoverable to any point of the last 35 days, and emptied by
// DynamoDB as items expire. Records are operational data, so the table goes
// with the stack.
func newRenderTable(scope constructs.Construct, role awsiam.IRole) awsdynamodb.Table {
	t := awsdynamodb.NewTable(scope, jsii.String("RenderTable"), &awsdynamodb.TableProps{
		PartitionKey: &awsdynamodb.Attribute{Name: jsii.String(table.PartitionKey), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		TimeToLiveAttribute: jsii.String(table.ExpiresAt),
		RemovalPolicy:       awscdk.RemovalPolicy_DESTROY,
	})
	for _, index := range []struct{ name, partition string }{
		{table.ByCaller, table.RequestedBy},
		{table.ByTime, table.Kind},
	} {
		t.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(index.name),
			PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String(index.partition), Type: awsdynamodb.AttributeType_STRING},
			SortKey:        &awsdynamodb.Attribute{Name: jsii.String(table.CreatedAt), Type: awsdynamodb.AttributeType_STRING},
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		})
	}
	t.Grant(role, *jsii.Strings(renderTableActions...)...)
	tableID := *awscdk.Stack_Of(scope).GetLogicalId(t.Node().DefaultChild().(awscdk.CfnElement))
	accept(role.Node().FindChild(jsii.String("DefaultPolicy")), finding{"AwsSolutions-IAM5", "Resource::<" + tableID + ".Arn>/index/*",
		"The function queries the render table's own two indexes (callers' renders, everyone's); the grant covers that one table's indexes and no other table."})
	return t
}

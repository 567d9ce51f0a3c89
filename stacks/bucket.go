package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"remotion-lambda-iam/config"
	"remotion-lambda-iam/policies"
)

// newOutputBucket is the guide's second policy: it creates or imports the
// output bucket and gives the execution role the inline s3:PutObject
// statement on it. It returns nil when no output bucket is configured.
func newOutputBucket(scope constructs.Construct, cfg config.OutputBucket, role awsiam.IRole) awss3.IBucket {
	stack := awscdk.Stack_Of(scope)
	var bucket awss3.IBucket
	var nagArn string // the bucket's ARN as cdk-nag writes it in a finding
	switch cfg.Mode {
	case config.NoBucket:
		return nil
	case config.ImportBucket:
		bucket = awss3.Bucket_FromBucketName(scope, jsii.String("OutputBucket"), jsii.String(cfg.Name))
		nagArn = "arn:<AWS::Partition>:s3:::" + cfg.Name
		awscdk.Annotations_Of(scope).AddWarningV2(jsii.String("remotion:importedOutputBucket"), jsii.String(
			"The output bucket "+cfg.Name+" is not managed by this stack. Renders land there only if its bucket policy "+
				"lets the role "+cfg.RenderRoleName+" s3:PutObject and s3:GetObject on its objects and s3:ListBucket on it: "+
				"see \"Render into your own bucket\" in the README for the statement to add."), nil)
	case config.CreateBucket:
		accessLogs := newPrivateBucket(scope, "OutputBucketAccessLogs", cfg.RemovalPolicy, nil)
		accept(accessLogs,
			finding{"AwsSolutions-S1", "", "This is the access log bucket of the output bucket; logging its own access would log the log deliveries."})
		created := newPrivateBucket(scope, "OutputBucket", cfg.RemovalPolicy, accessLogs)
		// Remotion's render function writes the file under its own role and
		// then reads it back, so that role, and only it, is let in.
		renderRole := awsiam.NewArnPrincipal(stack.FormatArn(&awscdk.ArnComponents{
			Service:      jsii.String("iam"),
			Region:       jsii.String(""),
			Resource:     jsii.String("role"),
			ResourceName: jsii.String(cfg.RenderRoleName),
		}))
		created.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("RemotionRenderRoleWritesRenders"),
			Principals: &[]awsiam.IPrincipal{renderRole},
			Actions:    jsii.Strings("s3:PutObject", "s3:GetObject"),
			Resources:  jsii.Strings(*created.ArnForObjects(jsii.String("*"))),
		}))
		created.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("RemotionRenderRoleListsRenders"),
			Principals: &[]awsiam.IPrincipal{renderRole},
			Actions:    jsii.Strings("s3:ListBucket"),
			Resources:  jsii.Strings(*created.BucketArn()),
		}))
		bucket = created
		nagArn = "<" + *stack.GetLogicalId(created.Node().DefaultChild().(awscdk.CfnElement)) + ".Arn>"
	}
	inline := awsiam.NewPolicy(scope, jsii.String("OutputBucketPolicy"), &awsiam.PolicyProps{
		Roles:      &[]awsiam.IRole{role},
		Statements: &[]awsiam.PolicyStatement{policies.OutputBucketStatement(*bucket.BucketArn())},
	})
	accept(inline, finding{"AwsSolutions-IAM5", "Resource::" + nagArn + "/*",
		"The inline statement of Remotion's guide: s3:PutObject on the objects of the one output bucket, which is what the output bucket is for."})
	return bucket
}

// newPrivateBucket creates a bucket nobody outside the account can reach:
// public access blocked, ACLs disabled, SSL only, encrypted at rest. It is
// kept, with what it holds, when the stack is destroyed, unless removal is
// config.Destroy.
func newPrivateBucket(scope constructs.Construct, id string, removal config.RemovalPolicy, accessLogs awss3.IBucket) awss3.Bucket {
	destroy := removal == config.Destroy
	removalPolicy := awscdk.RemovalPolicy_RETAIN
	if destroy {
		removalPolicy = awscdk.RemovalPolicy_DESTROY
	}
	props := &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		RemovalPolicy:     removalPolicy,
		AutoDeleteObjects: jsii.Bool(destroy),
	}
	if accessLogs != nil {
		props.ServerAccessLogsBucket = accessLogs
		props.ServerAccessLogsPrefix = jsii.String("output-bucket/")
	}
	return awss3.NewBucket(scope, jsii.String(id), props)
}

package stacks

import (
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
)

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
	s := synth(t, "created bucket")
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
	s := synth(t, "created bucket")
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
	s := synth(t, "destroyed bucket")
	_, bucket := outputBucket(t, s)

	if bucket["DeletionPolicy"] != "Delete" {
		t.Errorf("DeletionPolicy = %v, want Delete", bucket["DeletionPolicy"])
	}
	if n := len(s.resources("Custom::S3AutoDeleteObjects")); n != 2 {
		t.Errorf("%d auto-delete custom resources, want 2 to empty the bucket and its access logs", n)
	}
}

func TestImportedOutputBucketIsNamedNotCreated(t *testing.T) {
	s := synth(t, "imported bucket")
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

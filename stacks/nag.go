package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
)

// suppressNagFindings records, on the exact resources, the cdk-nag
// AwsSolutions findings this design accepts, each with its reason.
func suppressNagFindings(stack awscdk.Stack, bucket OutputBucketConfig, auth AuthMode) {
}

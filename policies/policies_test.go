package policies

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// guideURL is Remotion's IAM-roles guide. testdata/published-policy.json is
// the role policy as that page publishes it ("Show full role permissions
// JSON file"); refresh it from there, or from `npx remotion lambda policies
// user`, when Remotion changes the policy.
const guideURL = "https://www.remotion.dev/docs/lambda/without-iam"

func TestEmbeddedPolicyIsTheOneRemotionPublishes(t *testing.T) {
	b, err := os.ReadFile("testdata/published-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	var published, embedded any
	if err := json.Unmarshal(b, &published); err != nil {
		t.Fatalf("the policy published at %s, as copied: %v", guideURL, err)
	}
	if err := json.Unmarshal(ExecutionRolePolicyJSON(), &embedded); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(embedded, published) {
		t.Errorf("remotion-executionrole-policy.json differs from the policy published at %s", guideURL)
	}
}

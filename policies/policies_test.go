package policies

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"
)

const seedPage = "testdata/using-lambda-with-iam-roles.txt"

// seedPolicy extracts the role policy JSON from the text of Remotion's
// "Using Lambda with IAM roles" page.
func seedPolicy(t *testing.T, page []byte) any {
	t.Helper()
	marker := []byte("Show full role permissions JSON file")
	i := bytes.Index(page, marker)
	if i < 0 {
		t.Fatal("the page has no role policy")
	}
	j := bytes.IndexByte(page[i:], '{')
	var doc any
	if err := json.NewDecoder(bytes.NewReader(page[i+j:])).Decode(&doc); err != nil {
		t.Fatalf("the page's role policy is not JSON: %v", err)
	}
	return doc
}

func TestPolicyFileIsTheSeedPagesJSON(t *testing.T) {
	page, err := os.ReadFile(seedPage)
	if err != nil {
		t.Fatal(err)
	}
	var file any
	if err := json.Unmarshal(ExecutionRolePolicyJSON(), &file); err != nil {
		t.Fatal(err)
	}
	if want := seedPolicy(t, page); !reflect.DeepEqual(file, want) {
		t.Errorf("remotion-executionrole-policy.json differs from the page's JSON")
	}
}

// The page is kept in testdata so that the test runs anywhere; where the
// project's shared copy is beside the checkout, the two must agree.
func TestSeedPageCopyIsCurrent(t *testing.T) {
	shared, err := os.ReadFile("../../shared/seed/using-lambda-with-iam-roles.txt")
	if errors.Is(err, os.ErrNotExist) {
		t.Skip("no ../shared beside this checkout: nothing to compare the copy with")
	}
	if err != nil {
		t.Fatal(err)
	}
	local, err := os.ReadFile(seedPage)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shared, local) {
		t.Errorf("%s differs from ../shared/seed: copy it again", seedPage)
	}
}

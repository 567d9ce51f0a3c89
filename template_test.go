package main

import (
	"encoding/json"
	"testing"

	"github.com/awslabs/goformation/v7"
)

// goformation knows every resource type's properties and their types: a
// misspelled property or a wrong type in a synthesized template is an error
// here rather than a failed deployment.
func TestTemplatesParseStrictly(t *testing.T) {
	for name, overrides := range map[string]map[string]any{
		"default":         nil,
		"created bucket":  {keyOutputBucket: "create"},
		"imported bucket": {keyOutputBucket: "my-renders"},
		"jwt":             {keyAPIAuthorization: "jwt", keyJWTIssuer: "https://issuer.example", keyJWTAudience: "a"},
	} {
		t.Run(name, func(t *testing.T) {
			b, err := json.Marshal(synth(t, name, overrides).template)
			if err != nil {
				t.Fatal(err)
			}
			tmpl, err := goformation.ParseJSON(b)
			if err != nil {
				t.Fatalf("the template does not parse strictly: %v", err)
			}
			if _, err := tmpl.GetLambdaFunctionWithName(functionLogicalID(t, name, overrides)); err != nil {
				t.Errorf("the parsed template has no trigger function: %v", err)
			}
		})
	}
}

func functionLogicalID(t *testing.T, name string, overrides map[string]any) string {
	id, _ := synth(t, name, overrides).only(t, "AWS::Lambda::Function")
	return id
}

// The strictness the test above relies on: a misspelled property fails.
func TestStrictParsingCatchesAMisspelledProperty(t *testing.T) {
	var tmpl map[string]any
	b, _ := json.Marshal(defaultStack(t).template)
	json.Unmarshal(b, &tmpl)
	id := functionLogicalID(t, "default", nil)
	fn := tmpl["Resources"].(map[string]any)[id].(map[string]any)["Properties"].(map[string]any)
	fn["MemorySizeInMB"] = fn["MemorySize"]
	delete(fn, "MemorySize")
	b, _ = json.Marshal(tmpl)

	if _, err := goformation.ParseJSON(b); err == nil {
		t.Error("goformation accepted a misspelled property")
	}
}

package stacks

import (
	"encoding/json"
	"testing"

	"github.com/awslabs/goformation/v7"
)

// goformation knows every resource type's properties and their types: a
// misspelled property or a wrong type in a synthesized template is an error
// here rather than a failed deployment.
func TestTemplatesParseStrictly(t *testing.T) {
	for name := range configurations {
		t.Run(name, func(t *testing.T) {
			b, err := json.Marshal(synth(t, name).template)
			if err != nil {
				t.Fatal(err)
			}
			tmpl, err := goformation.ParseJSON(b)
			if err != nil {
				t.Fatalf("the template does not parse strictly: %v", err)
			}
			if _, err := tmpl.GetLambdaFunctionWithName(functionLogicalID(t, name)); err != nil {
				t.Errorf("the parsed template has no trigger function: %v", err)
			}
		})
	}
}

func functionLogicalID(t *testing.T, name string) string {
	id, _ := synth(t, name).byID(t, "AWS::Lambda::Function", "TriggerFunction")
	return id
}

// The strictness the test above relies on: a misspelled property fails.
func TestStrictParsingCatchesAMisspelledProperty(t *testing.T) {
	var tmpl map[string]any
	b, _ := json.Marshal(defaultStack(t).template)
	json.Unmarshal(b, &tmpl)
	id := functionLogicalID(t, "default")
	fn := tmpl["Resources"].(map[string]any)[id].(map[string]any)["Properties"].(map[string]any)
	fn["MemorySizeInMB"] = fn["MemorySize"]
	delete(fn, "MemorySize")
	b, _ = json.Marshal(tmpl)

	if _, err := goformation.ParseJSON(b); err == nil {
		t.Error("goformation accepted a misspelled property")
	}
}

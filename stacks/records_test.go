package stacks

import (
	"slices"
	"testing"

	"remotion-lambda-iam/internal/dynalite"
)

func TestRenderTableIsOnDemandRecoverableAndExpiresItsItems(t *testing.T) {
	_, tbl := defaultStack(t).only(t, "AWS::DynamoDB::Table")
	p := props(tbl)

	assertEqual(t, "settings", map[string]any{
		"BillingMode":                      p["BillingMode"],
		"PointInTimeRecoverySpecification": p["PointInTimeRecoverySpecification"],
		"TimeToLiveSpecification":          p["TimeToLiveSpecification"],
		"DeletionPolicy":                   tbl["DeletionPolicy"],
	}, map[string]any{
		"BillingMode":                      "PAY_PER_REQUEST",
		"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
		"TimeToLiveSpecification":          map[string]any{"AttributeName": "expiresAt", "Enabled": true},
		"DeletionPolicy":                   "Delete",
	})
}

// The tests run against a table that dynalite creates; it must be the one
// the stack deploys.
func TestRenderTableIsTheOneTheTestsUse(t *testing.T) {
	_, tbl := defaultStack(t).only(t, "AWS::DynamoDB::Table")
	p := props(tbl)
	in := dynalite.RenderTableInput("renders")

	assertEqual(t, "KeySchema", p["KeySchema"], in.KeySchema)
	assertEqual(t, "AttributeDefinitions", sortedBy(p["AttributeDefinitions"], "AttributeName"), sortedBy(asJSON(t, in.AttributeDefinitions), "AttributeName"))
	assertEqual(t, "GlobalSecondaryIndexes", sortedBy(p["GlobalSecondaryIndexes"], "IndexName"),
		sortedBy(withoutNulls(asJSON(t, in.GlobalSecondaryIndexes)), "IndexName"))
}

// withoutNulls drops the unset fields the SDK's types encode as null.
func withoutNulls(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			if e != nil {
				out[k] = withoutNulls(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = withoutNulls(e)
		}
		return out
	}
	return v
}

// sortedBy orders a JSON list of objects by one of their fields.
func sortedBy(list any, field string) []any {
	out := slices.Clone(list.([]any))
	slices.SortFunc(out, func(a, b any) int {
		x, y := a.(map[string]any)[field].(string), b.(map[string]any)[field].(string)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	return out
}

// The role may do exactly what the function does, on that one table.
func TestRoleMayUseTheRenderTableOnly(t *testing.T) {
	s := defaultStack(t)
	tableID, _ := s.only(t, "AWS::DynamoDB::Table")
	_, policy := s.only(t, "AWS::IAM::Policy")

	var grants []any
	for _, st := range props(policy)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
		if actions, ok := st.(map[string]any)["Action"].([]any); ok && slices.Contains(actions, any("dynamodb:GetItem")) {
			grants = append(grants, st)
		}
	}

	assertEqual(t, "table grant", grants, []any{map[string]any{
		"Action":   []any{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"},
		"Effect":   "Allow",
		"Resource": []any{arnOf(tableID), joined(arnOf(tableID), "/index/*")},
	}})
	for _, st := range props(policy)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
		for _, a := range asList(st.(map[string]any)["Action"]) {
			if !slices.Contains([]any{"logs:CreateLogStream", "logs:PutLogEvents", "secretsmanager:GetSecretValue", "events:PutEvents", "lambda:GetAccountSettings"}, a) &&
				!slices.Contains(renderTableActions, a.(string)) {
				t.Errorf("the role may also %v", a)
			}
		}
	}
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

func TestWithoutRenderTrackingThereIsNoTable(t *testing.T) {
	s := synth(t, "untracked")

	if n := len(s.resources("AWS::DynamoDB::Table")); n != 0 {
		t.Errorf("%d tables", n)
	}
	for _, name := range []string{"RENDER_TABLE", "RENDER_RECORD_DAYS"} {
		if _, ok := s.environment(t)[name]; ok {
			t.Errorf("the function is given %s", name)
		}
	}
}

package stacks

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"testing"

	"remotion-lambda-iam/contract/renderapi"
	"remotion-lambda-iam/lambda/env"
)

// queueEnvironment are the variables the queue gives the function.
var queueEnvironment = []string{env.RenderQueue, env.RenderConcurrencyBudget, env.DefaultRenderConcurrency, env.MaxQueuedRenders, env.MaxQueuedPerCaller}

// The sweeper: EventBridge invokes the function every minute with its own
// scheduled event, which the function tells apart by its source and
// detail-type, and may invoke nothing else.
func TestQueueSweeperInvokesTheFunctionEveryMinute(t *testing.T) {
	s := defaultStack(t)
	fnID, _ := s.only(t, "AWS::Lambda::Function")
	ruleID, rule := s.only(t, "AWS::Events::Rule")
	p := props(rule)

	if d, _ := p["Description"].(string); d == "" {
		t.Error("the schedule has no description")
	}
	assertEqual(t, "schedule", map[string]any{"ScheduleExpression": p["ScheduleExpression"], "State": p["State"], "EventBusName": p["EventBusName"], "EventPattern": p["EventPattern"]},
		map[string]any{"ScheduleExpression": "rate(1 minute)", "State": "ENABLED", "EventBusName": nil, "EventPattern": nil})
	// No Input, InputPath or InputTransformer: the function gets
	// EventBridge's own event, source aws.events, detail-type Scheduled Event.
	assertEqual(t, "targets", p["Targets"], []any{map[string]any{
		"Arn":         arnOf(fnID),
		"Id":          "Target0",
		"RetryPolicy": map[string]any{"MaximumEventAgeInSeconds": 60.0, "MaximumRetryAttempts": 0.0},
	}})

	var fromEvents []any
	for _, perm := range s.resources("AWS::Lambda::Permission") {
		if props(perm)["Principal"] == "events.amazonaws.com" {
			fromEvents = append(fromEvents, props(perm))
		}
	}
	assertEqual(t, "EventBridge's permissions to invoke the function", fromEvents, []any{map[string]any{
		"Action":       "lambda:InvokeFunction",
		"FunctionName": arnOf(fnID),
		"Principal":    "events.amazonaws.com",
		"SourceArn":    arnOf(ruleID),
	}})
}

// The role may read the account's Lambda settings (its concurrency), which
// has no resource to name, and that finding is accepted with the table's
// on the same policy: neither replaces the other.
func TestRoleMayReadTheAccountsLambdaSettings(t *testing.T) {
	s := defaultStack(t)
	tableID, _ := s.only(t, "AWS::DynamoDB::Table")

	assertEqual(t, "grant", statementsWith(t, s, "lambda:GetAccountSettings"), []any{map[string]any{
		"Action": "lambda:GetAccountSettings", "Effect": "Allow", "Resource": "*",
	}})
	assertEqual(t, "accepted cdk-nag findings on the role's policy", acceptedOnRolePolicy(t, s), []string{
		"AwsSolutions-IAM5 Resource::<" + tableID + ".Arn>/index/*",
		"AwsSolutions-IAM5 Resource::*",
	})
}

// acceptedOnRolePolicy lists the findings accepted on the role's default
// policy, as rule and finding.
func acceptedOnRolePolicy(t *testing.T, s *synthesized) []string {
	t.Helper()
	_, policy := s.byID(t, "AWS::IAM::Policy", "ExecutionRoleDefaultPolicy")
	var metadata struct {
		CdkNag struct {
			Rules []struct {
				ID        string   `json:"id"`
				AppliesTo []string `json:"applies_to"`
				Reason    string   `json:"reason"`
			} `json:"rules_to_suppress"`
		} `json:"cdk_nag"`
	}
	b, _ := json.Marshal(policy["Metadata"])
	json.Unmarshal(b, &metadata)
	var out []string
	for _, r := range metadata.CdkNag.Rules {
		for _, f := range r.AppliesTo {
			out = append(out, r.ID+" "+f)
		}
	}
	return out
}

func TestQueueSettingsReachTheFunction(t *testing.T) {
	for _, tt := range []struct {
		config string
		want   map[string]any
	}{
		{"default", map[string]any{
			"RENDER_QUEUE": "true", "RENDER_CONCURRENCY_BUDGET": "0", "DEFAULT_RENDER_CONCURRENCY": "0",
			"MAX_QUEUED_RENDERS": "1000", "MAX_QUEUED_PER_CALLER": "0",
		}},
		{"queue tuned", map[string]any{
			"RENDER_QUEUE": "true", "RENDER_CONCURRENCY_BUDGET": "500", "DEFAULT_RENDER_CONCURRENCY": "50",
			"MAX_QUEUED_RENDERS": "200", "MAX_QUEUED_PER_CALLER": "10",
		}},
		{"queue off", map[string]any{}},
		{"untracked", map[string]any{}},
	} {
		t.Run(tt.config, func(t *testing.T) {
			environment := synth(t, tt.config).environment(t)
			got := map[string]any{}
			for _, name := range queueEnvironment {
				if v, ok := environment[name]; ok {
					got[name] = v
				}
			}
			assertEqual(t, "the queue's variables", got, tt.want)
		})
	}
}

// With renderQueue=false the template is the one of the stack before the
// queue: the default's, without exactly the queue's resources, variables,
// grant and accepted finding, and the dashboard's row of the queue.
func TestQueueOffIsTheStackWithoutTheQueue(t *testing.T) {
	var want map[string]any
	b, _ := json.Marshal(defaultStack(t).template)
	json.Unmarshal(b, &want)
	resources := want["Resources"].(map[string]any)
	remove := func(id string) {
		t.Helper()
		if _, ok := resources[id]; !ok {
			t.Fatalf("the default stack has no %s", id)
		}
		delete(resources, id)
	}

	// The schedule and its permission to invoke the function.
	ruleID, _ := defaultStack(t).only(t, "AWS::Events::Rule")
	remove(ruleID)
	for id, r := range resources {
		if r.(map[string]any)["Type"] == "AWS::Lambda::Permission" && props(r.(map[string]any))["Principal"] == "events.amazonaws.com" {
			remove(id)
		}
	}
	// The queue's routes and their permissions, which the CDK names after
	// the route.
	for _, route := range renderapi.Routes {
		if !route.Queue {
			continue
		}
		var routeID string
		for id, r := range resources {
			if res := r.(map[string]any); res["Type"] == "AWS::ApiGatewayV2::Route" && props(res)["RouteKey"] == route.Key() {
				routeID = id
			}
		}
		if routeID == "" {
			t.Fatalf("the default stack has no %s", route.Key())
		}
		remove(routeID)
		prefix := logicalIDHash.ReplaceAllString(routeID, "") + "TriggerIntegrationPermission"
		permissions := 0
		for id := range resources {
			if logicalIDHash.ReplaceAllString(id, "") == prefix {
				remove(id)
				permissions++
			}
		}
		if permissions != 1 {
			t.Fatalf("%d permissions %s*, want 1", permissions, prefix)
		}
	}
	// The function's variables.
	fnID, _ := defaultStack(t).only(t, "AWS::Lambda::Function")
	variables := props(resources[fnID].(map[string]any))["Environment"].(map[string]any)["Variables"].(map[string]any)
	for _, name := range queueEnvironment {
		if _, ok := variables[name]; !ok {
			t.Fatalf("the default function has no %s", name)
		}
		delete(variables, name)
	}
	// The grant, and the finding it brings.
	policyID, _ := defaultStack(t).byID(t, "AWS::IAM::Policy", "ExecutionRoleDefaultPolicy")
	policy := resources[policyID].(map[string]any)
	document := props(policy)["PolicyDocument"].(map[string]any)
	document["Statement"] = without(t, document["Statement"].([]any), map[string]any{"Action": "lambda:GetAccountSettings", "Effect": "Allow", "Resource": "*"})
	suppressions := policy["Metadata"].(map[string]any)["cdk_nag"].(map[string]any)
	suppressions["rules_to_suppress"] = without(t, suppressions["rules_to_suppress"].([]any),
		map[string]any{"id": accountSettingsFinding.rule, "applies_to": []any{accountSettingsFinding.appliesTo}, "reason": accountSettingsFinding.reason})

	// The dashboard's queue row, which TestTheDashboardWithoutTheQueueHasNoQueueRow
	// checks widget by widget.
	dashboardID, _ := defaultStack(t).only(t, "AWS::CloudWatch::Dashboard")
	remove(dashboardID)
	var got map[string]any
	b, _ = json.Marshal(synth(t, "queue off").template)
	json.Unmarshal(b, &got)
	delete(got["Resources"].(map[string]any), dashboardID)

	assertEqual(t, "template with renderQueue=false", got, want)
}

// logicalIDHash is the hash the CDK appends to a logical ID.
var logicalIDHash = regexp.MustCompile(`[0-9A-F]{8}$`)

// without returns list without the one element equal to v (as JSON).
func without(t *testing.T, list []any, v any) []any {
	t.Helper()
	want, _ := json.Marshal(v)
	out := slices.DeleteFunc(slices.Clone(list), func(e any) bool {
		b, _ := json.Marshal(e)
		return string(b) == string(want)
	})
	if len(out) != len(list)-1 {
		t.Fatalf("%d elements equal to %s in %v, want 1", len(list)-len(out), want, list)
	}
	return out
}

// The queue's resources keep these logical IDs once deployed. The
// permission's ID carries the stack's name, which a deployed stack keeps.
func TestQueueLogicalIDs(t *testing.T) {
	off := synth(t, "queue off").template["Resources"].(map[string]any)
	var added []string
	for _, id := range slices.Sorted(maps.Keys(defaultStack(t).template["Resources"].(map[string]any))) {
		if _, ok := off[id]; !ok {
			added = append(added, id)
		}
	}

	assertEqual(t, "the queue's resources", added, []string{
		"HttpApiDELETErendersrenderIdF7DCB2E0",
		"HttpApiDELETErendersrenderIdTriggerIntegrationPermission656CFA6C",
		"HttpApiGETrendersallqueue2D6AE6BC",
		"HttpApiGETrendersallqueueTriggerIntegrationPermission6F5FDDB5",
		"RenderQueueSweeper61336A29",
		"RenderQueueSweeperAllowEventRuleRemotionRenderStackTriggerFunction56BB981F1E93D5C8",
	})
}

func TestWithoutRecordsThereIsNoQueue(t *testing.T) {
	for _, name := range []string{"untracked", "queue off"} {
		t.Run(name, func(t *testing.T) {
			s := synth(t, name)
			if n := len(s.resources("AWS::Events::Rule")); n != 0 {
				t.Errorf("%d rules", n)
			}
			if len(statementsWith(t, s, "lambda:GetAccountSettings")) != 0 {
				t.Error("the role may read the account's Lambda settings")
			}
			for _, r := range s.resources("AWS::ApiGatewayV2::Route") {
				if key := props(r)["RouteKey"]; key == renderapi.RouteCancel.Key() || key == renderapi.RouteQueue.Key() {
					t.Errorf("the API has %s", key)
				}
			}
		})
	}
}

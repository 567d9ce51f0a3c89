package stacks

import (
	"encoding/json"
	"strings"
	"testing"
)

// The secret is generated at deploy time: the template holds no value.
func TestWebhookSecretHasNoValueInTheTemplate(t *testing.T) {
	s := defaultStack(t)
	_, secret := s.only(t, "AWS::SecretsManager::Secret")

	if _, ok := props(secret)["SecretString"]; ok {
		t.Error("the template carries the secret's value")
	}
	gen, ok := props(secret)["GenerateSecretString"].(map[string]any)
	if !ok || gen["PasswordLength"] != 64.0 || gen["ExcludePunctuation"] != true {
		t.Errorf("GenerateSecretString = %v", props(secret)["GenerateSecretString"])
	}
}

// statementsWith returns the role's statements that grant action.
func statementsWith(t *testing.T, s *synthesized, action string) []any {
	t.Helper()
	_, policy := s.only(t, "AWS::IAM::Policy")
	var out []any
	for _, st := range props(policy)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
		for _, a := range asList(st.(map[string]any)["Action"]) {
			if a == action {
				out = append(out, st)
			}
		}
	}
	return out
}

func TestRoleReadsThatOneSecretAndPutsOnThatOneBus(t *testing.T) {
	s := defaultStack(t)
	secretID, _ := s.only(t, "AWS::SecretsManager::Secret")

	assertEqual(t, "secret grant", statementsWith(t, s, "secretsmanager:GetSecretValue"), []any{map[string]any{
		"Action": "secretsmanager:GetSecretValue", "Effect": "Allow", "Resource": ref(secretID),
	}})
	assertEqual(t, "bus grant", statementsWith(t, s, "events:PutEvents"), []any{map[string]any{
		"Action": "events:PutEvents", "Effect": "Allow",
		"Resource": joined("arn:", ref("AWS::Partition"), ":events:", ref("AWS::Region"), ":", ref("AWS::AccountId"), ":event-bus/default"),
	}})
}

func TestANamedBusIsTheOneUsed(t *testing.T) {
	s := synth(t, "email")

	if got := s.environment(t)["EVENT_BUS_NAME"]; got != "renders" {
		t.Errorf("EVENT_BUS_NAME = %v", got)
	}
	grant := statementsWith(t, s, "events:PutEvents")
	if b, _ := json.Marshal(grant); len(grant) != 1 || !strings.Contains(string(b), `event-bus/renders"`) {
		t.Errorf("bus grant %s", b)
	}
	_, rule := s.byID(t, "AWS::Events::Rule", "RenderOutcomeEmails")
	if props(rule)["EventBusName"] != "renders" {
		t.Errorf("the rule listens on %v", props(rule)["EventBusName"])
	}
}

func TestNotifyEmailSubscribesTheAddressToEveryOutcome(t *testing.T) {
	s := synth(t, "email")
	topicID, _ := s.only(t, "AWS::SNS::Topic")
	_, sub := s.only(t, "AWS::SNS::Subscription")
	_, rule := s.byID(t, "AWS::Events::Rule", "RenderOutcomeEmails")

	assertEqual(t, "subscription", map[string]any{"Protocol": props(sub)["Protocol"], "Endpoint": props(sub)["Endpoint"], "TopicArn": props(sub)["TopicArn"]},
		map[string]any{"Protocol": "email", "Endpoint": "ops@example.com", "TopicArn": ref(topicID)})
	assertEqual(t, "pattern", props(rule)["EventPattern"], map[string]any{"source": []any{"remotion.render"}})
	targets := props(rule)["Targets"].([]any)
	if len(targets) != 1 {
		t.Fatalf("%d targets", len(targets))
	}
	target := targets[0].(map[string]any)
	assertEqual(t, "target", target["Arn"], ref(topicID))
	input, _ := json.Marshal(target["InputTransformer"])
	for _, field := range []string{"$.detail.composition", "$.detail.outputFile", "$.detail.costs.displayCost", "$.detail-type"} {
		if !strings.Contains(string(input), field) {
			t.Errorf("the message does not carry %s: %s", field, input)
		}
	}
}

func TestNoEmailUnlessAsked(t *testing.T) {
	s := defaultStack(t)
	for _, typ := range []string{"AWS::SNS::Topic", "AWS::SNS::Subscription"} {
		if n := len(s.resources(typ)); n != 0 {
			t.Errorf("%d resources of type %s", n, typ)
		}
	}
	// The one rule is the queue's schedule, which listens on no bus.
	for id, rule := range s.resources("AWS::Events::Rule") {
		if _, ok := props(rule)["EventPattern"]; ok {
			t.Errorf("rule %s matches events: %v", id, props(rule)["EventPattern"])
		}
	}
}

func TestWithoutRenderTrackingThereAreNoWebhooks(t *testing.T) {
	s := synth(t, "untracked")

	if n := len(s.resources("AWS::SecretsManager::Secret")); n != 0 {
		t.Errorf("%d secrets", n)
	}
	if _, ok := s.environment(t)["WEBHOOK_SECRET_ARN"]; ok {
		t.Error("the function is given a webhook secret")
	}
	if len(statementsWith(t, s, "events:PutEvents")) != 0 {
		t.Error("the role may put events")
	}
}

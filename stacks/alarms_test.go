package stacks

import (
	"maps"
	"testing"

	"remotion-lambda-iam/contract/metrics"
)

// The alarm watches the metric the function writes when it recovers a panic:
// one panic in five minutes sets it off, and minutes without one are fine.
func TestAPanicSetsOffTheAlarm(t *testing.T) {
	s := defaultStack(t)
	fnID, _ := s.byID(t, "AWS::Lambda::Function", "TriggerFunction")
	_, alarm := s.byID(t, "AWS::CloudWatch::Alarm", "PanicAlarm")
	p := props(alarm)

	for key, want := range map[string]any{
		"Namespace":          metrics.Namespace,
		"MetricName":         metrics.Panics,
		"Dimensions":         []any{map[string]any{"Name": metrics.DimensionFunctionName, "Value": ref(fnID)}},
		"Statistic":          "Sum",
		"Period":             300.0,
		"EvaluationPeriods":  1.0,
		"Threshold":          1.0,
		"ComparisonOperator": "GreaterThanOrEqualToThreshold",
		"TreatMissingData":   "notBreaching",
	} {
		assertEqual(t, key, p[key], want)
	}
	if d, _ := p["AlarmDescription"].(string); d == "" {
		t.Error("the alarm does not say what it means")
	}
	for _, key := range []string{"AlarmActions", "OKActions"} {
		if _, ok := p[key]; ok {
			t.Errorf("without notifyEmail the alarm has %s %v", key, p[key])
		}
	}
}

// The minimal stack of Remotion's guide is watched too.
func TestTheUntrackedStackHasThePanicAlarm(t *testing.T) {
	s := synth(t, "untracked")
	s.byID(t, "AWS::CloudWatch::Alarm", "PanicAlarm")
}

// With notifyEmail the alarm emails the address the render outcomes go to,
// and the topic's own policy lets that alarm, and only it, publish.
func TestThePanicAlarmNotifiesTheEmailTopic(t *testing.T) {
	s := synth(t, "email")
	topicID, _ := s.only(t, "AWS::SNS::Topic")
	alarmID, alarm := s.byID(t, "AWS::CloudWatch::Alarm", "PanicAlarm")
	_, policy := s.only(t, "AWS::SNS::TopicPolicy")

	assertEqual(t, "AlarmActions", props(alarm)["AlarmActions"], []any{ref(topicID)})
	assertEqual(t, "OKActions", props(alarm)["OKActions"], []any{ref(topicID)})
	var grants []any
	for _, st := range props(policy)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
		statement := maps.Clone(st.(map[string]any)) // the template is shared
		if p, _ := statement["Principal"].(map[string]any); p["Service"] == "cloudwatch.amazonaws.com" {
			delete(statement, "Sid") // the CDK numbers the topic's statements
			grants = append(grants, statement)
		}
	}
	assertEqual(t, "the alarm's grant", grants, []any{map[string]any{
		"Action":    "sns:Publish",
		"Effect":    "Allow",
		"Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"},
		"Resource":  ref(topicID),
		"Condition": map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": arnOf(alarmID)}},
	}})
}

package stacks

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"remotion-lambda-iam/contract/metrics"
	"remotion-lambda-iam/lambda/env"
)

// dashboardWidgets parses the dashboard's DashboardBody, a Fn::Join of
// JSON text and references: each reference is read as the string
// "${Ref:<logical ID>}".
func dashboardWidgets(t *testing.T, template map[string]any) []map[string]any {
	t.Helper()
	var body map[string]any
	for _, r := range template["Resources"].(map[string]any) {
		if res := r.(map[string]any); res["Type"] == "AWS::CloudWatch::Dashboard" {
			if body != nil {
				t.Fatal("more than one dashboard")
			}
			body = props(res)
		}
	}
	if body == nil {
		t.Fatal("no dashboard")
	}
	join, ok := body["DashboardBody"].(map[string]any)["Fn::Join"].([]any)
	if !ok || join[0] != "" {
		t.Fatalf("DashboardBody is not a Fn::Join on \"\": %v", body["DashboardBody"])
	}
	var text strings.Builder
	for _, piece := range join[1].([]any) {
		switch p := piece.(type) {
		case string:
			text.WriteString(p)
		case map[string]any:
			id, ok := p["Ref"].(string)
			if !ok || len(p) != 1 {
				t.Fatalf("DashboardBody holds %v, not a string or a Ref", p)
			}
			text.WriteString("${Ref:" + id + "}")
		default:
			t.Fatalf("DashboardBody holds %v", p)
		}
	}
	var parsed struct {
		Widgets []map[string]any `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(text.String()), &parsed); err != nil {
		t.Fatalf("DashboardBody is not JSON: %v\n%s", err, text.String())
	}
	return parsed.Widgets
}

// graphed is one line of a graph: its metric, its dimensions, its
// statistic and period (0: the widget's, five minutes), and the axis.
type graphed struct {
	Namespace, Name string
	Dimensions      map[string]string
	Stat            string
	Period          float64
	Right           bool
}

func (g graphed) String() string {
	dims := make([]string, 0, len(g.Dimensions))
	for _, k := range slices.Sorted(maps.Keys(g.Dimensions)) {
		dims = append(dims, k+"="+g.Dimensions[k])
	}
	axis := ""
	if g.Right {
		axis = " (right)"
	}
	return fmt.Sprintf("%s %s {%s} %s/%vs%s", g.Namespace, g.Name, strings.Join(dims, ","), g.Stat, g.Period, axis)
}

// graphedMetrics lists the lines of a widget, as metrics arrays write them:
// [namespace, name, dimension, value, …, {options}].
func graphedMetrics(t *testing.T, widget map[string]any) []string {
	t.Helper()
	properties, _ := widget["properties"].(map[string]any)
	lines, _ := properties["metrics"].([]any)
	var out []string
	for _, l := range lines {
		line := l.([]any)
		options := map[string]any{}
		if o, ok := line[len(line)-1].(map[string]any); ok {
			options, line = o, line[:len(line)-1]
		}
		if len(line) < 2 || len(line)%2 != 0 {
			t.Fatalf("metric line %v is not namespace, name and dimension pairs", l)
		}
		g := graphed{Namespace: line[0].(string), Name: line[1].(string), Dimensions: map[string]string{}}
		for i := 2; i < len(line); i += 2 {
			g.Dimensions[line[i].(string)] = line[i+1].(string)
		}
		g.Stat, _ = options["stat"].(string)
		g.Period, _ = options["period"].(float64)
		g.Right = options["yAxis"] == "right"
		out = append(out, g.String())
	}
	return out
}

// byTitle lists each widget's lines by its title.
func byTitle(t *testing.T, widgets []map[string]any) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, w := range widgets {
		title, _ := w["properties"].(map[string]any)["title"].(string)
		out[title] = graphedMetrics(t, w)
	}
	return out
}

// The dashboard graphs the metrics the function writes, by the function's
// name as it writes them, and Lambda's and API Gateway's own errors.
func TestTheDashboardGraphsTheFunctionsMetrics(t *testing.T) {
	s := defaultStack(t)
	fnID, _ := s.only(t, "AWS::Lambda::Function")
	apiID, _ := s.only(t, "AWS::ApiGatewayV2::Api")
	fn := map[string]string{metrics.DimensionFunctionName: "${Ref:" + fnID + "}"}
	by := func(name, value string) map[string]string {
		d := maps.Clone(fn)
		d[name] = value
		return d
	}
	line := func(ns, name string, dims map[string]string, stat string, period float64) string {
		return graphed{Namespace: ns, Name: name, Dimensions: dims, Stat: stat, Period: period}.String()
	}

	assertEqual(t, "the dashboard's graphs", byTitle(t, dashboardWidgets(t, s.template)), map[string][]string{
		"Renders per hour, by outcome": {
			line(metrics.Namespace, metrics.Renders, by(metrics.DimensionOutcome, "done"), "Sum", 3600),
			line(metrics.Namespace, metrics.Renders, by(metrics.DimensionOutcome, "failed"), "Sum", 3600),
			line(metrics.Namespace, metrics.Renders, by(metrics.DimensionOutcome, "cancelled"), "Sum", 3600),
		},
		"Cost per day (USD, Remotion's estimate, by the day renders ended)": {
			line(metrics.Namespace, metrics.RenderCost, fn, "Sum", 86400),
		},
		"Errors per 5 minutes": {
			line("AWS/Lambda", "Errors", fn, "Sum", 0),
			line("AWS/Lambda", "Throttles", fn, "Sum", 0),
			line(metrics.Namespace, metrics.Panics, fn, "Sum", 0),
			line("AWS/ApiGateway", "5xx", map[string]string{"ApiId": "${Ref:" + apiID + "}"}, "Sum", 0),
		},
		"Queue: renders waiting, and the Lambda executions renders hold, of the budget": {
			line(metrics.Namespace, metrics.QueueDepth, fn, "Maximum", 60),
			line(metrics.Namespace, metrics.CapacityInUse, fn, "Maximum", 60),
			line(metrics.Namespace, metrics.Budget, fn, "Maximum", 60),
		},
		"Time in line, and starts Lambda throttled": {
			line(metrics.Namespace, metrics.WaitTime, fn, "p50", 0),
			line(metrics.Namespace, metrics.WaitTime, fn, "p95", 0),
			graphed{Namespace: metrics.Namespace, Name: metrics.Throttles, Dimensions: fn, Stat: "Sum", Right: true}.String(),
		},
	})
}

// The widgets tile the dashboard's 24 columns without overlapping.
func TestTheDashboardsWidgetsDoNotOverlap(t *testing.T) {
	for _, name := range []string{"default", "queue off"} {
		t.Run(name, func(t *testing.T) {
			taken := map[[2]int]string{}
			for _, w := range dashboardWidgets(t, synth(t, name).template) {
				title := w["properties"].(map[string]any)["title"].(string)
				x, y := int(w["x"].(float64)), int(w["y"].(float64))
				width, height := int(w["width"].(float64)), int(w["height"].(float64))
				if x+width > 24 {
					t.Errorf("%q ends at column %d of 24", title, x+width)
				}
				for i := x; i < x+width; i++ {
					for j := y; j < y+height; j++ {
						if other, ok := taken[[2]int{i, j}]; ok {
							t.Fatalf("%q overlaps %q", title, other)
						}
						taken[[2]int{i, j}] = title
					}
				}
			}
		})
	}
}

// queueMetrics are the metrics the function writes only with the queue.
var queueMetrics = []string{metrics.QueueDepth, metrics.CapacityInUse, metrics.Budget, metrics.WaitTime, metrics.Throttles}

// namesQueueMetric reports whether a widget graphs one of the queue's
// metrics.
func namesQueueMetric(t *testing.T, widget map[string]any) bool {
	t.Helper()
	for _, l := range graphedMetrics(t, widget) {
		for _, m := range queueMetrics {
			if strings.HasPrefix(l, metrics.Namespace+" "+m+" ") {
				return true
			}
		}
	}
	return false
}

// Without the queue, the dashboard is the default's without the queue's
// row, which comes last.
func TestTheDashboardWithoutTheQueueHasNoQueueRow(t *testing.T) {
	var want []map[string]any
	for _, w := range dashboardWidgets(t, defaultStack(t).template) {
		if !namesQueueMetric(t, w) {
			want = append(want, w)
		}
	}
	if len(want) == len(dashboardWidgets(t, defaultStack(t).template)) {
		t.Fatal("the default dashboard graphs no queue metric")
	}

	assertEqual(t, "widgets with renderQueue=false", dashboardWidgets(t, synth(t, "queue off").template), want)
}

// The minimal stack of Remotion's guide writes none of these metrics: it
// has no dashboard.
func TestNoDashboardWithoutRecords(t *testing.T) {
	s := synth(t, "untracked")
	if n := len(s.resources("AWS::CloudWatch::Dashboard")); n != 0 {
		t.Errorf("%d dashboards", n)
	}
	if _, ok := s.template["Outputs"].(map[string]any)["DashboardUrl"]; ok {
		t.Error("an output DashboardUrl")
	}
}

func TestDashboardURLNamesTheDashboard(t *testing.T) {
	s := defaultStack(t)
	dashboardID, _ := s.only(t, "AWS::CloudWatch::Dashboard")
	output := s.template["Outputs"].(map[string]any)["DashboardUrl"].(map[string]any)

	assertEqual(t, "DashboardUrl", output["Value"], joined("https://", ref("AWS::Region"),
		".console.aws.amazon.com/cloudwatch/home?region=", ref("AWS::Region"), "#dashboards/dashboard/", ref(dashboardID)))
}

// The spend alarm goes off when one day's render costs pass
// spendAlarmShare × monthlySpendLimit, and emails notifyEmail's topic,
// which lets it, and only it besides the panic alarm, publish.
func TestTheSpendAlarmWatchesOneDaysCost(t *testing.T) {
	s := synth(t, "spend limits")
	fnID, _ := s.only(t, "AWS::Lambda::Function")
	topicID, _ := s.only(t, "AWS::SNS::Topic")
	panicID, _ := s.byID(t, "AWS::CloudWatch::Alarm", "PanicAlarm")
	alarmID, alarm := s.byID(t, "AWS::CloudWatch::Alarm", "SpendAlarm")
	_, policy := s.only(t, "AWS::SNS::TopicPolicy")
	p := props(alarm)

	for key, want := range map[string]any{
		"Namespace":          metrics.Namespace,
		"MetricName":         metrics.RenderCost,
		"Dimensions":         []any{map[string]any{"Name": metrics.DimensionFunctionName, "Value": ref(fnID)}},
		"Statistic":          "Sum",
		"Period":             86400.0,
		"EvaluationPeriods":  1.0,
		"Threshold":          15.0, // 0.15 × 100
		"ComparisonOperator": "GreaterThanThreshold",
		"TreatMissingData":   "notBreaching",
		"AlarmActions":       []any{ref(topicID)},
		"OKActions":          []any{ref(topicID)},
	} {
		assertEqual(t, key, p[key], want)
	}
	if d, _ := p["AlarmDescription"].(string); !strings.Contains(d, "monthlySpendLimit") || !strings.Contains(d, "100 USD") {
		t.Errorf("the alarm does not say what it means: %q", d)
	}
	var sources []any
	for _, st := range props(policy)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
		statement := st.(map[string]any)
		if p, _ := statement["Principal"].(map[string]any); p["Service"] == "cloudwatch.amazonaws.com" {
			assertEqual(t, "the alarm's grant", map[string]any{"Action": statement["Action"], "Resource": statement["Resource"], "Effect": statement["Effect"]},
				map[string]any{"Action": "sns:Publish", "Resource": ref(topicID), "Effect": "Allow"})
			sources = append(sources, statement["Condition"])
		}
	}
	assertEqual(t, "the alarms the topic lets publish", sources, []any{
		map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": arnOf(panicID)}},
		map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": arnOf(alarmID)}},
	})
}

// Without notifyEmail the spend alarm only changes state; the threshold is
// the share of the limit, exactly.
func TestTheSpendAlarmWithoutATopic(t *testing.T) {
	s := synth(t, "monthly limit, queue off")
	_, alarm := s.byID(t, "AWS::CloudWatch::Alarm", "SpendAlarm")
	p := props(alarm)

	assertEqual(t, "Threshold", p["Threshold"], 25.05) // the default 0.1 × 250.5
	for _, key := range []string{"AlarmActions", "OKActions"} {
		if _, ok := p[key]; ok {
			t.Errorf("without notifyEmail the alarm has %s %v", key, p[key])
		}
	}
}

// The cost graph shows the spend alarm's threshold, where there is one.
func TestTheCostGraphShowsTheSpendAlarmsThreshold(t *testing.T) {
	for _, tt := range []struct {
		config string
		want   any
	}{
		{"spend limits", []any{map[string]any{"label": "Spend alarm: 0.15 × monthlySpendLimit", "value": 15.0, "yAxis": "left"}}},
		{"monthly limit, queue off", []any{map[string]any{"label": "Spend alarm: 0.1 × monthlySpendLimit", "value": 25.05, "yAxis": "left"}}},
		{"default", nil},
	} {
		t.Run(tt.config, func(t *testing.T) {
			var got any
			for _, w := range dashboardWidgets(t, synth(t, tt.config).template) {
				p := w["properties"].(map[string]any)
				if strings.HasPrefix(p["title"].(string), "Cost per day") {
					annotations, _ := p["annotations"].(map[string]any)
					got = annotations["horizontal"]
				}
			}
			assertEqual(t, "the cost graph's annotations", got, tt.want)
		})
	}
}

// No monthly limit, no spend alarm.
func TestNoSpendAlarmWithoutAMonthlyLimit(t *testing.T) {
	for _, name := range []string{"default", "email", "untracked"} {
		t.Run(name, func(t *testing.T) {
			for id := range synth(t, name).resources("AWS::CloudWatch::Alarm") {
				if strings.HasPrefix(id, "SpendAlarm") {
					t.Errorf("alarm %s", id)
				}
			}
		})
	}
}

// spendEnvironment are the variables the ledger gives the function.
var spendEnvironment = []string{env.DailySpendLimit, env.MonthlySpendLimit, env.EstimatedCostPerRender}

// The estimate reaches the function wherever it keeps records; a limit
// only where it is set.
func TestSpendSettingsReachTheFunction(t *testing.T) {
	for _, tt := range []struct {
		config string
		want   map[string]any
	}{
		{"default", map[string]any{"ESTIMATED_COST_PER_RENDER": "0.05"}},
		{"spend limits", map[string]any{"DAILY_SPEND_LIMIT": "5", "MONTHLY_SPEND_LIMIT": "100", "ESTIMATED_COST_PER_RENDER": "0.08"}},
		{"monthly limit, queue off", map[string]any{"MONTHLY_SPEND_LIMIT": "250.5", "ESTIMATED_COST_PER_RENDER": "0.05"}},
		{"untracked", map[string]any{}},
	} {
		t.Run(tt.config, func(t *testing.T) {
			environment := synth(t, tt.config).environment(t)
			got := map[string]any{}
			for _, name := range spendEnvironment {
				if v, ok := environment[name]; ok {
					got[name] = v
				}
			}
			assertEqual(t, "the ledger's variables", got, tt.want)
		})
	}
}

// The dashboard and the spend alarm keep these logical IDs once deployed.
func TestDashboardAndSpendAlarmLogicalIDs(t *testing.T) {
	s := synth(t, "spend limits")
	dashboardID, _ := s.only(t, "AWS::CloudWatch::Dashboard")
	alarmID, _ := s.byID(t, "AWS::CloudWatch::Alarm", "SpendAlarm")

	assertEqual(t, "logical IDs", []string{dashboardID, alarmID}, []string{"Dashboard9E4231ED", "SpendAlarmBCEB65E0"})
	if _, ok := s.template["Outputs"].(map[string]any)["DashboardUrl"]; !ok {
		t.Error("no output DashboardUrl")
	}
}

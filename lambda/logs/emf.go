package logs

import (
	"context"
	"log/slog"
	"os"
	"time"

	"remotion-lambda-iam/contract/metrics"
)

// CountPanic counts one recovered panic where an alarm can see it: a log line
// in CloudWatch's Embedded Metric Format, from which CloudWatch Logs takes
// metrics.Panics (1, a Count) in metrics.Namespace, by the function's name.
//
// The line is written at LevelFatal, the one level that neither log's level
// nor Lambda's application log level drops, so that the alarm sees every
// panic whatever a deployment chose to log.
func CountPanic(ctx context.Context, log *slog.Logger) {
	count(ctx, log, metrics.Panics, time.Now())
}

// count writes one EMF line that counts 1 of metric at now.
func count(ctx context.Context, log *slog.Logger, metric string, now time.Time) {
	write(ctx, log, now, nil, Metric{Name: metric, Unit: "Count", Value: 1})
}

// Metric is one value of a metric, in a unit CloudWatch knows (Count,
// Milliseconds).
type Metric struct {
	Name  string
	Unit  string
	Value float64
}

// Write writes metrics as one EMF line, by the function's name.
func Write(ctx context.Context, log *slog.Logger, ms ...Metric) {
	write(ctx, log, time.Now(), nil, ms...)
}

// Dimension is one dimension of a metric and its value.
type Dimension struct{ Name, Value string }

// WriteBy writes metrics as one EMF line, by the function's name and by
// each of dims with it.
func WriteBy(ctx context.Context, log *slog.Logger, dims []Dimension, ms ...Metric) {
	write(ctx, log, time.Now(), dims, ms...)
}

func write(ctx context.Context, log *slog.Logger, now time.Time, dims []Dimension, ms ...Metric) {
	directive := emfDirective{Namespace: metrics.Namespace, Dimensions: [][]string{{metrics.DimensionFunctionName}}}
	attrs := []slog.Attr{{}, slog.String(metrics.DimensionFunctionName, os.Getenv(FunctionNameVariable))}
	for _, d := range dims {
		directive.Dimensions = append(directive.Dimensions, []string{metrics.DimensionFunctionName, d.Name})
		attrs = append(attrs, slog.String(d.Name, d.Value))
	}
	for _, m := range ms {
		directive.Metrics = append(directive.Metrics, emfMetric{Name: m.Name, Unit: m.Unit})
		attrs = append(attrs, slog.Float64(m.Name, m.Value))
	}
	attrs[0] = slog.Any("_aws", emfMetadata{Timestamp: now.UnixMilli(), CloudWatchMetrics: []emfDirective{directive}})
	log.LogAttrs(ctx, LevelFatal, "metric", attrs...)
}

// The _aws member of an EMF line, as CloudWatch specifies it: the metric
// values and dimension values are the line's own top-level members.
type emfMetadata struct {
	Timestamp         int64          `json:"Timestamp"` // milliseconds since the epoch
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

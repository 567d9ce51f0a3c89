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
	log.LogAttrs(ctx, LevelFatal, "metric",
		slog.Any("_aws", emfMetadata{
			Timestamp: now.UnixMilli(),
			CloudWatchMetrics: []emfDirective{{
				Namespace:  metrics.Namespace,
				Dimensions: [][]string{{metrics.DimensionFunctionName}},
				Metrics:    []emfMetric{{Name: metric, Unit: "Count"}},
			}},
		}),
		slog.String(metrics.DimensionFunctionName, os.Getenv(FunctionNameVariable)),
		slog.Int(metric, 1),
	)
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

// Package logs is how the trigger function writes its logs: JSON lines at the
// level the deployment chose, each carrying Lambda's request ID, and the
// metrics an alarm watches, in CloudWatch's Embedded Metric Format.
package logs

import (
	"context"
	"io"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Variables Lambda sets in the function's environment.
const (
	// LevelVariable holds the function's application log level (TRACE,
	// DEBUG, INFO, WARN, ERROR or FATAL) when its log format is JSON.
	LevelVariable = "AWS_LAMBDA_LOG_LEVEL"
	// FunctionNameVariable holds the function's own name.
	FunctionNameVariable = "AWS_LAMBDA_FUNCTION_NAME"
)

// Lambda's two levels that slog has no name for.
const (
	// LevelTrace is below slog.LevelDebug: the most detailed.
	LevelTrace = slog.LevelDebug - 4
	// LevelFatal is above slog.LevelError: the least detailed, and the one
	// level no application log level filters out.
	LevelFatal = slog.LevelError + 4
)

// RequestIDKey is the attribute that carries Lambda's request ID, beside
// API Gateway's requestId.
const RequestIDKey = "awsRequestId"

// levels are Lambda's level names, as AWS_LAMBDA_LOG_LEVEL gives them and as
// Lambda reads them back from each line's "level" to filter it.
var levels = map[string]slog.Level{
	"TRACE": LevelTrace,
	"DEBUG": slog.LevelDebug,
	"INFO":  slog.LevelInfo,
	"WARN":  slog.LevelWarn,
	"ERROR": slog.LevelError,
	"FATAL": LevelFatal,
}

// ParseLevel is the level Lambda names name, in any case; INFO, Lambda's
// default, when name is empty or no level of Lambda's.
func ParseLevel(name string) slog.Level {
	if l, ok := levels[strings.ToUpper(strings.TrimSpace(name))]; ok {
		return l
	}
	return slog.LevelInfo
}

// New is the function's logger: JSON lines to w from level up, each with
// Lambda's request ID when its context has one, and with the level named as
// Lambda names it, so that Lambda's own filtering reads the same level.
func New(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(WithRequestID(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level:       level,
		ReplaceAttr: lambdaLevelNames,
	})))
}

// lambdaLevelNames writes TRACE and FATAL where slog would write DEBUG-4
// and ERROR+4.
func lambdaLevelNames(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 || a.Key != slog.LevelKey {
		return a
	}
	switch l, _ := a.Value.Any().(slog.Level); {
	case l < slog.LevelDebug:
		a.Value = slog.StringValue("TRACE")
	case l > slog.LevelError:
		a.Value = slog.StringValue("FATAL")
	}
	return a
}

// WithRequestID wraps h so that every record logged with a context that
// carries a Lambda invocation gets that invocation's request ID, as
// RequestIDKey.
func WithRequestID(h slog.Handler) slog.Handler {
	return requestIDHandler{h}
}

type requestIDHandler struct{ next slog.Handler }

func (h requestIDHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := requestID(ctx); id != "" {
		r = r.Clone() // the caller's record may share its attributes
		r.AddAttrs(slog.String(RequestIDKey, id))
	}
	return h.next.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.next.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.next.WithGroup(name)}
}

func requestID(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.AwsRequestID
	}
	return ""
}

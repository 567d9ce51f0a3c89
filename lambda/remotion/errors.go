package remotion

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

// Kind says what went wrong talking to the render function, so that a caller
// can answer with the right status without parsing messages.
type Kind int

const (
	// KindUpstream is any other failure of the call itself.
	KindUpstream Kind = iota
	// KindVersionMismatch: the render function runs another Remotion version.
	KindVersionMismatch
	// KindFunctionNotFound: no function of that name in that region.
	KindFunctionNotFound
	// KindAccessDenied: the caller's role may not invoke the function or use the bucket.
	KindAccessDenied
	// KindThrottled: Lambda refused the call for rate, after the SDK's retries.
	KindThrottled
	// KindTimeout: the call did not finish before the caller's deadline.
	KindTimeout
	// KindRenderRejected: the function answered {"type":"error"}.
	KindRenderRejected
	// KindFunctionCrashed: the function failed with an unhandled error (FunctionError).
	KindFunctionCrashed
	// KindOutcomeUnknown: a start failed after it was sent, so the render may
	// have started. It was not sent again.
	KindOutcomeUnknown
)

// Error is a failure of a call to the render function.
type Error struct {
	Kind    Kind
	Message string // safe to show to the API's caller: no stack, no credentials
	Err     error  // the underlying error, for logs
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// classifyInvokeError turns an error from the Lambda Invoke API into an *Error.
func (c *Client) classifyInvokeError(err error) *Error {
	var (
		notFound  *types.ResourceNotFoundException
		throttled *types.TooManyRequestsException
		apiErr    smithy.APIError
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return &Error{Kind: KindTimeout, Message: fmt.Sprintf("the render function %s did not answer in time", c.functionName), Err: err}
	case errors.As(err, &notFound):
		return &Error{Kind: KindFunctionNotFound, Message: fmt.Sprintf(
			"no render function %s in region %s: deploy it with `npx remotion lambda functions deploy` or configure the name of the one you have", c.functionName, c.region), Err: err}
	case errors.As(err, &throttled):
		return &Error{Kind: KindThrottled, Message: "Lambda is throttling calls to the render function; retry later or raise the account's concurrency limit", Err: err}
	case errors.As(err, &apiErr) && isAccessDenied(apiErr.ErrorCode()):
		return &Error{Kind: KindAccessDenied, Message: fmt.Sprintf(
			"access denied invoking %s: attach the %s managed policy to this function's execution role", c.functionName, c.policyName), Err: err}
	default:
		return &Error{Kind: KindUpstream, Message: fmt.Sprintf("calling the render function %s failed", c.functionName), Err: err}
	}
}

func isAccessDenied(code string) bool {
	return code == "AccessDeniedException" || code == "AccessDenied"
}

// classifyFunctionError turns the function's own error message, from a
// {"type":"error"} reply or a FunctionError, into an *Error.
func (c *Client) classifyFunctionError(kind Kind, message string) *Error {
	switch {
	case strings.HasPrefix(message, "Version mismatch"):
		return &Error{Kind: KindVersionMismatch, Message: fmt.Sprintf(
			"the render function %s runs another Remotion version than %s, the version this deployment speaks: set the remotionVersion context key (REMOTION_VERSION) to the function's version, or deploy a render function of version %s. Remotion said: %s",
			c.functionName, c.version, c.version, firstLine(message))}
	case strings.Contains(message, "AccessDenied"):
		return &Error{Kind: KindAccessDenied, Message: "the render function was denied access: " + firstLine(message)}
	default:
		return &Error{Kind: kind, Message: "the render function failed: " + firstLine(message)}
	}
}

// firstLine keeps a message to its first line, so that no stack trace leaks.
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	const maxLength = 1000
	if len(s) > maxLength {
		s = s[:maxLength] + "…"
	}
	return s
}

package remotion

import (
	"errors"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// A start is paid work: the render function fans out over many invocations.
// A 5xx answer, a cut connection or a timeout after the request was sent
// does not say that the render did not start, so a start is sent again only
// when the render function certainly did not run.

// sendStartOnce replaces the client's retry policy for one start: it keeps
// the configured backoff and attempts, and retries only what notRun allows.
func sendStartOnce(o *lambda.Options) {
	o.Retryer = startRetryer{Retryer: o.Retryer, throttled: true}
}

// sendStartOnceNotThrottled is sendStartOnce without retrying a start
// Lambda throttled: its caller has a better place to wait, such as a line.
func sendStartOnceNotThrottled(o *lambda.Options) {
	o.Retryer = startRetryer{Retryer: o.Retryer}
}

type startRetryer struct {
	aws.Retryer
	throttled bool // retry a throttled start
}

// IsErrorRetryable allows another attempt when Lambda throttled the start,
// or when the start never left this process.
func (r startRetryer) IsErrorRetryable(err error) bool {
	return r.throttled && isThrottling(err) || notSent(err)
}

func isThrottling(err error) bool {
	var resp *awshttp.ResponseError
	return errors.As(err, &resp) && resp.HTTPStatusCode() == 429
}

// notSent reports whether a request failed before it was sent: signing
// (credentials), name resolution or connecting.
func notSent(err error) bool {
	var (
		signing *v4.SigningError
		dns     *net.DNSError
		op      *net.OpError
	)
	return errors.As(err, &signing) || errors.As(err, &dns) || errors.As(err, &op) && op.Op == "dial"
}

// notRun reports whether a failed call certainly did not run the function:
// Lambda refused it (a 4xx answer) or it was never sent.
func notRun(err error) bool {
	var resp *awshttp.ResponseError
	if errors.As(err, &resp) {
		return resp.HTTPStatusCode() >= 400 && resp.HTTPStatusCode() < 500
	}
	return notSent(err)
}

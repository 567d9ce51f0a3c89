// Package awsjson calls AWS services that speak the AWS JSON protocol
// (DynamoDB, Secrets Manager, EventBridge) with the SDK's configuration and
// parts: its credentials, SigV4 signer, HTTP client and retry policy, and
// the endpoints its clients would choose.
//
// It stands in for the SDK's clients of those services because the
// function uses a handful of their operations, and linking the clients
// costs every cold start about 2 ms and 2 MiB of memory (their packages
// build descriptions of every operation of the service at start-up). The
// Lambda and S3 clients, which the function has always linked, stay.
package awsjson

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// Service describes one JSON-protocol service, as its Smithy model does.
type Service struct {
	ID             string // the SDK's service ID, as in AWS_ENDPOINT_URL_<ID>
	EndpointPrefix string // the first label of the service's host
	SigningName    string
	TargetPrefix   string // X-Amz-Target is TargetPrefix.Operation
	JSONVersion    string // "1.0" or "1.1"
}

// The services the function calls.
var (
	DynamoDB = Service{ID: "DynamoDB", EndpointPrefix: "dynamodb", SigningName: "dynamodb",
		TargetPrefix: "DynamoDB_20120810", JSONVersion: "1.0"}
	SecretsManager = Service{ID: "Secrets Manager", EndpointPrefix: "secretsmanager", SigningName: "secretsmanager",
		TargetPrefix: "secretsmanager", JSONVersion: "1.1"}
	EventBridge = Service{ID: "EventBridge", EndpointPrefix: "events", SigningName: "events",
		TargetPrefix: "AWSEvents", JSONVersion: "1.1"}
)

// userAgent names the caller in CloudTrail as the SDK's clients do, with
// this project's app ID.
var userAgent = "aws-sdk-go-v2/" + aws.SDKVersion + " app/remotion-lambda-iam"

// Client calls one service. It is safe for concurrent use.
type Client struct {
	svc      Service
	endpoint string
	region   string
	creds    aws.CredentialsProvider
	http     aws.HTTPClient
	retryer  aws.Retryer
	signer   *v4.Signer
}

// New makes a client of svc from an SDK configuration, as
// config.LoadDefaultConfig returns it.
func New(ctx context.Context, cfg aws.Config, svc Service) (*Client, error) {
	// Requests are signed for the region, wherever they are sent.
	if cfg.Region == "" {
		return nil, fmt.Errorf("%s: no region is configured: set AWS_REGION", svc.ID)
	}
	if cfg.Credentials == nil {
		return nil, fmt.Errorf("%s: no credentials are configured", svc.ID)
	}
	endpoint, err := resolveEndpoint(ctx, cfg, svc)
	if err != nil {
		return nil, err
	}
	c := &Client{
		svc:      svc,
		endpoint: strings.TrimSuffix(endpoint, "/") + "/",
		region:   cfg.Region,
		creds:    cfg.Credentials,
		http:     cfg.HTTPClient,
		signer:   v4.NewSigner(),
	}
	if c.http == nil {
		c.http = awshttp.NewBuildableClient()
	}
	if cfg.Retryer != nil {
		c.retryer = cfg.Retryer()
	} else {
		c.retryer = retry.NewStandard()
	}
	return c, nil
}

// Endpoint is the URL the client sends its requests to.
func (c *Client) Endpoint() string { return c.endpoint }

// Call sends the operation with in as its JSON input and decodes the
// answer into out, which may be nil. It retries what the configured retry
// policy retries (throttling, 5xx answers, connection failures), with its
// backoff and retry quota, within ctx. A failure the service answered is
// an *APIError.
func (c *Client) Call(ctx context.Context, operation string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s %s: encode the input: %w", c.svc.ID, operation, err)
	}
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	releaseRetry := func(error) error { return nil }
	for attempt := 1; ; attempt++ {
		// The retry quota's bookkeeping, as the SDK's clients keep it:
		// successes refill what retries take.
		releaseAttempt, err := c.attemptToken(ctx)
		if err != nil {
			return fmt.Errorf("%s %s: %w", c.svc.ID, operation, err)
		}
		answer, err := c.send(ctx, operation, body, payloadHash)
		releaseRetry(err)
		releaseAttempt(err)
		if err == nil {
			if out == nil {
				return nil
			}
			if err := json.Unmarshal(answer, out); err != nil {
				return fmt.Errorf("%s %s: decode the answer: %w", c.svc.ID, operation, err)
			}
			return nil
		}
		if limit := c.retryer.MaxAttempts(); limit != 0 && attempt >= limit || !c.retryer.IsErrorRetryable(err) {
			return fmt.Errorf("%s %s: %w", c.svc.ID, operation, err)
		}
		var quota error
		if releaseRetry, quota = c.retryer.GetRetryToken(ctx, err); quota != nil {
			return fmt.Errorf("%s %s: %w (not retried: %v)", c.svc.ID, operation, err, quota)
		}
		delay, derr := c.retryer.RetryDelay(attempt, err)
		if derr != nil {
			return fmt.Errorf("%s %s: %w", c.svc.ID, operation, err)
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return fmt.Errorf("%s %s: %w (not retried: %w)", c.svc.ID, operation, err, ctx.Err())
		}
	}
}

// attemptToken is the retry policy's permission to make an attempt: the
// adaptive policy makes attempts wait while the service throttles.
func (c *Client) attemptToken(ctx context.Context) (func(error) error, error) {
	if r, ok := c.retryer.(aws.RetryerV2); ok {
		return r.GetAttemptToken(ctx)
	}
	return c.retryer.GetInitialToken(), nil
}

// send makes one attempt and returns the body of a successful answer.
func (c *Client) send(ctx context.Context, operation string, body []byte, payloadHash string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-"+c.svc.JSONVersion)
	req.Header.Set("X-Amz-Target", c.svc.TargetPrefix+"."+operation)
	// DynamoDB's checksum is of the body as sent, so the body is not
	// compressed, as with the SDK.
	req.Header.Set("Accept-Encoding", "identity")
	req.Header.Set("User-Agent", userAgent)
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return nil, &v4.SigningError{Err: fmt.Errorf("retrieve credentials: %w", err)}
	}
	if err := c.signer.SignHTTP(ctx, creds, req, payloadHash, c.svc.SigningName, c.region, time.Now().UTC()); err != nil {
		return nil, &v4.SigningError{Err: err}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, newAPIError(resp, answer)
	}
	if want := resp.Header.Get("X-Amz-Crc32"); want != "" {
		if got := strconv.FormatUint(uint64(crc32.ChecksumIEEE(answer)), 10); got != want {
			return nil, checksumError{want: want, got: got}
		}
	}
	return answer, nil
}

// APIError is a failure the service answered with.
type APIError struct {
	StatusCode int
	Code       string // the error's shape, as ConditionalCheckFailedException
	Message    string
	RequestID  string
}

func newAPIError(resp *http.Response, body []byte) *APIError {
	var shape struct {
		Type         string `json:"__type"`
		Message      string `json:"message"`
		MessageUpper string `json:"Message"`
	}
	json.Unmarshal(body, &shape)
	code := resp.Header.Get("X-Amzn-ErrorType")
	if code == "" {
		code = shape.Type
	}
	// Codes come as "Code", "namespace#Code" or "Code:http://docs...".
	code, _, _ = strings.Cut(code, ":")
	if i := strings.LastIndex(code, "#"); i >= 0 {
		code = code[i+1:]
	}
	e := &APIError{StatusCode: resp.StatusCode, Code: code, Message: shape.Message, RequestID: resp.Header.Get("X-Amzn-Requestid")}
	if e.Message == "" {
		e.Message = shape.MessageUpper
	}
	if e.Code == "" {
		e.Code = http.StatusText(resp.StatusCode)
	}
	return e
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("%d %s", e.StatusCode, e.Code)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.RequestID != "" {
		msg += " (request ID " + e.RequestID + ")"
	}
	return msg
}

// ErrorCode and HTTPStatusCode are how the SDK's retry policy tells
// throttling and server errors from the rest.
func (e *APIError) ErrorCode() string   { return e.Code }
func (e *APIError) HTTPStatusCode() int { return e.StatusCode }

// IsCode reports whether err is the service's answer with the error code.
func IsCode(err error, code string) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.Code == code
}

// checksumError is an answer that was damaged on the way: it is retried.
type checksumError struct{ want, got string }

func (e checksumError) Error() string {
	return fmt.Sprintf("the answer's CRC32 is %s, not the %s it was sent with", e.got, e.want)
}

func (checksumError) RetryableError() bool { return true }

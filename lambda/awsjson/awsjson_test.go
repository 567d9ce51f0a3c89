package awsjson

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// received is one request as the server got it.
type received struct {
	header http.Header
	body   []byte
}

// answer is one reply of the server.
type answer struct {
	status int
	header map[string]string
	body   string
}

// server stands in for a JSON-protocol service: it answers with the
// scripted answers in turn (the last repeats) and keeps what it received.
type server struct {
	*httptest.Server
	mu       sync.Mutex
	answers  []answer
	requests []received
}

func newServer(t *testing.T, answers ...answer) *server {
	t.Helper()
	s := &server{answers: answers}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.requests = append(s.requests, received{r.Header.Clone(), body})
		a := s.answers[0]
		if len(s.answers) > 1 {
			s.answers = s.answers[1:]
		}
		s.mu.Unlock()
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.requests...)
}

var testCreds = credentials.NewStaticCredentialsProvider("AKIDTEST", "test-secret", "")

// config is an SDK configuration for the server, with retries that back
// off for a millisecond.
func (s *server) config() aws.Config {
	return aws.Config{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(s.URL),
		Credentials:  testCreds,
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			})
		},
	}
}

func (s *server) client(t *testing.T, svc Service) *Client {
	t.Helper()
	c, err := New(ctx, s.config(), svc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var ok = answer{status: 200, body: `{}`}

func TestARequestIsTheOperationsJSONSigned(t *testing.T) {
	srv := newServer(t, ok)
	c := srv.client(t, DynamoDB)

	err := c.Call(ctx, "GetItem", map[string]string{"TableName": "renders"}, nil)

	if err != nil {
		t.Fatal(err)
	}
	r := srv.received()[0]
	if got := r.header.Get("X-Amz-Target"); got != "DynamoDB_20120810.GetItem" {
		t.Errorf("X-Amz-Target = %q", got)
	}
	if got := r.header.Get("Content-Type"); got != "application/x-amz-json-1.0" {
		t.Errorf("Content-Type = %q", got)
	}
	if string(r.body) != `{"TableName":"renders"}` {
		t.Errorf("body = %s", r.body)
	}
	// The signature is the SDK signer's over what arrived.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", bytes.NewReader(r.body))
	for _, h := range []string{"Content-Type", "X-Amz-Target", "Accept-Encoding"} {
		req.Header.Set(h, r.header.Get(h))
	}
	signedAt, err := time.Parse("20060102T150405Z", r.header.Get("X-Amz-Date"))
	if err != nil {
		t.Fatalf("X-Amz-Date: %v", err)
	}
	creds, _ := testCreds.Retrieve(ctx)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hashOf(r.body), "dynamodb", "eu-west-1", signedAt); err != nil {
		t.Fatal(err)
	}
	if got, want := r.header.Get("Authorization"), req.Header.Get("Authorization"); got != want {
		t.Errorf("Authorization = %q\nwant %q", got, want)
	}
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// The function sends Secrets Manager and EventBridge what their SDK clients
// send for the same call.
func TestRequestsAreTheSDKs(t *testing.T) {
	tests := []struct {
		name    string
		svc     Service
		op      string
		in      any
		sdkCall func(cfg aws.Config) error
	}{
		{"GetSecretValue", SecretsManager, "GetSecretValue", struct{ SecretId string }{"arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhook-AbCdEf"},
			func(cfg aws.Config) error {
				_, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
					SecretId: aws.String("arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhook-AbCdEf")})
				return err
			}},
		{"PutEvents", EventBridge, "PutEvents", struct {
			Entries []struct{ EventBusName, Source, DetailType, Detail string }
		}{[]struct{ EventBusName, Source, DetailType, Detail string }{{"renders", "remotion.render", "Render Succeeded", `{"renderId":"abc"}`}}},
			func(cfg aws.Config) error {
				_, err := eventbridge.NewFromConfig(cfg).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
					EventBusName: aws.String("renders"), Source: aws.String("remotion.render"),
					DetailType: aws.String("Render Succeeded"), Detail: aws.String(`{"renderId":"abc"}`)}}})
				return err
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, answer{status: 200, body: `{"SecretString":"s","FailedEntryCount":0,"Entries":[{"EventId":"1"}]}`})
			if err := tt.sdkCall(srv.config()); err != nil {
				t.Fatalf("the SDK's call: %v", err)
			}

			if err := srv.client(t, tt.svc).Call(ctx, tt.op, tt.in, nil); err != nil {
				t.Fatal(err)
			}

			got := srv.received()
			sdk, ours := got[0], got[1]
			for _, h := range []string{"Content-Type", "X-Amz-Target"} {
				if sdk.header.Get(h) != ours.header.Get(h) {
					t.Errorf("%s = %q, the SDK's is %q", h, ours.header.Get(h), sdk.header.Get(h))
				}
			}
			var sdkBody, ourBody any
			json.Unmarshal(sdk.body, &sdkBody)
			json.Unmarshal(ours.body, &ourBody)
			if !reflect.DeepEqual(sdkBody, ourBody) {
				t.Errorf("body = %s, the SDK's is %s", ours.body, sdk.body)
			}
		})
	}
}

func TestAnswersDecodeIntoTheOutput(t *testing.T) {
	srv := newServer(t, answer{status: 200, body: `{"SecretString":"s3cr3t","Name":"webhook"}`})
	var out struct{ SecretString string }

	err := srv.client(t, SecretsManager).Call(ctx, "GetSecretValue", struct{ SecretId string }{"webhook"}, &out)

	if err != nil || out.SecretString != "s3cr3t" {
		t.Errorf("got %+v, %v", out, err)
	}
}

// Errors come in the forms AWS's JSON services use; each gives the code
// alone, so that callers can tell them apart.
func TestServiceErrors(t *testing.T) {
	tests := []struct {
		name     string
		answer   answer
		code     string
		message  string
		contains string
	}{
		{"DynamoDB's namespaced type", answer{status: 400, header: map[string]string{"X-Amzn-Requestid": "REQ1"},
			body: `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}`},
			"ConditionalCheckFailedException", "The conditional request failed", "400 ConditionalCheckFailedException: The conditional request failed (request ID REQ1)"},
		{"a plain type and Message", answer{status: 400, body: `{"__type":"ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret."}`},
			"ResourceNotFoundException", "Secrets Manager can't find the specified secret.", "400 ResourceNotFoundException: Secrets Manager"},
		{"the type in a header", answer{status: 403, header: map[string]string{"X-Amzn-ErrorType": "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/"},
			body: `{"message":"not authorized"}`}, "AccessDeniedException", "not authorized", "403 AccessDeniedException: not authorized"},
		{"no body", answer{status: 403}, "Forbidden", "", "403 Forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.answer)

			err := srv.client(t, DynamoDB).Call(ctx, "PutItem", struct{}{}, nil)

			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want an *APIError", err)
			}
			if apiErr.Code != tt.code || apiErr.Message != tt.message || !IsCode(err, tt.code) {
				t.Errorf("code %q message %q, want %q %q", apiErr.Code, apiErr.Message, tt.code, tt.message)
			}
			if !strings.Contains(err.Error(), "DynamoDB PutItem: "+tt.contains) {
				t.Errorf("err = %q, want it to say %q", err, tt.contains)
			}
		})
	}
}

// The SDK's standard retry policy decides what is retried.
func TestRetries(t *testing.T) {
	serverError := answer{status: 500, body: `{"__type":"InternalServerError","message":"try again"}`}
	throttled := answer{status: 400, body: `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}`}
	refused := answer{status: 400, body: `{"__type":"com.amazonaws.dynamodb.v20120810#ValidationException","message":"bad"}`}
	damaged := answer{status: 200, header: map[string]string{"X-Amz-Crc32": "1"}, body: `{}`}
	tests := []struct {
		name     string
		answers  []answer
		requests int
		ok       bool
	}{
		{"a server error, then success", []answer{serverError, ok}, 2, true},
		{"throttled, then success", []answer{throttled, ok}, 2, true},
		{"a damaged answer, then a sound one", []answer{damaged, ok}, 2, true},
		{"a refusal is not retried", []answer{refused}, 1, false},
		{"server errors up to the attempts allowed", []answer{serverError}, retry.DefaultMaxAttempts, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.answers...)

			err := srv.client(t, DynamoDB).Call(ctx, "PutItem", struct{}{}, nil)

			if got := len(srv.received()); got != tt.requests {
				t.Errorf("%d requests, want %d", got, tt.requests)
			}
			if (err == nil) != tt.ok {
				t.Errorf("err = %v", err)
			}
		})
	}
}

func TestASoundChecksumIsAccepted(t *testing.T) {
	body := `{"Item":{"pk":{"S":"render#abc"}}}`
	srv := newServer(t, answer{status: 200, header: map[string]string{"X-Amz-Crc32": strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(body))), 10)}, body: body})
	var out struct{ Item map[string]map[string]string }

	err := srv.client(t, DynamoDB).Call(ctx, "GetItem", struct{}{}, &out)

	if err != nil || out.Item["pk"]["S"] != "render#abc" {
		t.Errorf("got %+v, %v", out, err)
	}
}

func TestAnEndedContextStopsTheRetries(t *testing.T) {
	srv := newServer(t, answer{status: 503, body: `{"__type":"ServiceUnavailable"}`})
	cfg := srv.config()
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 100
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 20 * time.Millisecond, nil })
		})
	}
	c, err := New(ctx, cfg, DynamoDB)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()

	err = c.Call(short, "PutItem", struct{}{}, nil)

	if !errors.Is(err, context.DeadlineExceeded) || !IsCode(err, "ServiceUnavailable") {
		t.Errorf("err = %v, want the last answer and the deadline", err)
	}
	if n := len(srv.received()); n >= 100 {
		t.Errorf("%d requests: the deadline did not stop the retries", n)
	}
}

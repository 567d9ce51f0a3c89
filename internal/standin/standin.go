// Package standin runs a local HTTP server that stands in for the AWS Lambda
// Invoke API and the few calls the function makes to S3, Secrets Manager and
// EventBridge, so that tests drive the function's real clients end to end
// without an AWS account. It records what it received.
package standin

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Region is the region the stand-in's configuration uses.
const Region = "us-east-1"

// Invocation is one call of the Invoke API as the server received it.
type Invocation struct {
	FunctionName string
	Payload      json.RawMessage
}

// Reply scripts the answer to one invocation.
type Reply struct {
	// Body is the function's reply, or the error document for an API error.
	Body any
	// FunctionError, when set, answers as a function that failed with an
	// unhandled error (the X-Amz-Function-Error header).
	FunctionError string
	// ErrorType, when set, answers as the Invoke API itself failing, with
	// Status (default 400) and this X-Amzn-ErrorType.
	ErrorType string
	Status    int
	// Delay holds the answer back, to test deadlines. The request's own
	// context ends it early, so a test never waits longer than its client.
	Delay time.Duration
	// Hangup closes the connection after the request was read, with no answer.
	Hangup bool
}

// Always answers every invocation with r.
func Always(r Reply) func(Invocation) Reply {
	return func(Invocation) Reply { return r }
}

// Started is the render function's answer to a start: render renderID,
// its progress kept in bucket.
func Started(bucket, renderID string) Reply {
	return Reply{Body: map[string]string{"type": "success", "bucketName": bucket, "renderId": renderID}}
}

// NewRenders answers every invocation as a start of a render of its own, in
// bucket.
func NewRenders(bucket string) func(Invocation) Reply {
	var mu sync.Mutex
	n := 0
	return func(Invocation) Reply {
		mu.Lock()
		defer mu.Unlock()
		n++
		return Started(bucket, fmt.Sprintf("r%09d", n))
	}
}

// Sequence answers successive invocations with rs, in turn; the last repeats.
func Sequence(rs ...Reply) func(Invocation) Reply {
	var mu sync.Mutex
	n := 0
	return func(Invocation) Reply {
		mu.Lock()
		defer mu.Unlock()
		r := rs[min(n, len(rs)-1)]
		n++
		return r
	}
}

// Answers of the Invoke API itself, as Lambda gives them.
var (
	FunctionNotFound = Reply{ErrorType: "ResourceNotFoundException", Status: http.StatusNotFound,
		Body: map[string]string{"Type": "User", "Message": "Function not found"}}
	AccessDenied = Reply{ErrorType: "AccessDeniedException", Status: http.StatusForbidden,
		Body: map[string]string{"Message": "not authorized to perform: lambda:InvokeFunction"}}
	Throttled = Reply{ErrorType: "TooManyRequestsException", Status: http.StatusTooManyRequests,
		Body: map[string]string{"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"}}
	ServiceError = Reply{ErrorType: "ServiceException", Status: http.StatusInternalServerError,
		Body: map[string]string{"Message": "Lambda encountered an internal error"}}
)

// Server is the stand-in. Its zero value is not usable; call Start.
type Server struct {
	srv     *httptest.Server
	respond func(Invocation) Reply

	mu          sync.Mutex
	s3Failure   *s3Failure
	invocations []Invocation
	secrets     map[string]string // id → value
	secretReads int
	events      []Event
	failEvents  bool
	buckets     map[string]string // name → region
	objects     map[string][]byte // "bucket/key" → body
}

// Start runs a stand-in whose Invoke API answers with respond. Close it when done.
func Start(respond func(Invocation) Reply) *Server {
	s := &Server{respond: respond, buckets: map[string]string{}, objects: map[string][]byte{}, secrets: map[string]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the server's base URL, for AWS_ENDPOINT_URL_* or BaseEndpoint.
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// AWSConfig is an SDK configuration that talks only to the stand-in, with
// static test credentials and retries that back off for a millisecond.
func (s *Server) AWSConfig() aws.Config {
	return aws.Config{
		Region:       Region,
		BaseEndpoint: aws.String(s.srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDSTANDIN", "standin-secret", ""),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			})
		},
	}
}

// AddBucket makes a bucket exist in region.
func (s *Server) AddBucket(name, region string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buckets[name] = region
}

type s3Failure struct {
	status int
	code   string
}

// FailS3 makes every S3 call fail with status and the error code code, such
// as 403 AccessDenied.
func (s *Server) FailS3(status int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.s3Failure = &s3Failure{status: status, code: code}
}

// Invocations returns the invocations received so far.
func (s *Server) Invocations() []Invocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Invocation(nil), s.invocations...)
}

// Object returns what was put at bucket/key.
func (s *Server) Object(bucket, key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.objects[bucket+"/"+key]
	return b, ok
}

// Objects returns the keys of everything put, as "bucket/key".
func (s *Server) Objects() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.objects))
	for k := range s.objects {
		keys = append(keys, k)
	}
	return keys
}

// SetSecret makes Secrets Manager hold value under id.
func (s *Server) SetSecret(id, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[id] = value
}

// SecretReads counts the GetSecretValue calls received.
func (s *Server) SecretReads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.secretReads
}

// Event is one entry of a PutEvents call as EventBridge received it.
type Event struct {
	EventBusName string
	Source       string
	DetailType   string
	Detail       string // the event's JSON
}

// Events returns the events put so far.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// FailEvents makes EventBridge refuse every entry (FailedEntryCount), or
// accept them again.
func (s *Server) FailEvents(fail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failEvents = fail
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") == "" {
		http.Error(w, "unsigned request", http.StatusForbidden)
		return
	}
	switch r.Header.Get("X-Amz-Target") {
	case "secretsmanager.GetSecretValue":
		s.getSecretValue(w, r)
		return
	case "AWSEvents.PutEvents":
		s.putEvents(w, r)
		return
	}
	if name, ok := strings.CutPrefix(r.URL.Path, "/2015-03-31/functions/"); ok && r.Method == http.MethodPost {
		name, _ = strings.CutSuffix(name, "/invocations")
		fn, _ := url.PathUnescape(name)
		s.invoke(w, r, fn)
		return
	}
	s.s3(w, r)
}

func (s *Server) invoke(w http.ResponseWriter, r *http.Request, fn string) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	inv := Invocation{FunctionName: fn, Payload: body}
	s.mu.Lock()
	s.invocations = append(s.invocations, inv)
	s.mu.Unlock()

	reply := s.respond(inv)
	if reply.Hangup {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
		return
	}
	if reply.Delay > 0 {
		select {
		case <-time.After(reply.Delay):
		case <-r.Context().Done():
			return
		}
	}
	out, err := json.Marshal(reply.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case reply.ErrorType != "":
		w.Header().Set("X-Amzn-ErrorType", reply.ErrorType)
		if reply.Status == 0 {
			reply.Status = http.StatusBadRequest
		}
		w.WriteHeader(reply.Status)
	case reply.FunctionError != "":
		w.Header().Set("X-Amz-Function-Error", reply.FunctionError)
	}
	w.Write(out)
}

type bucketList struct {
	XMLName xml.Name `xml:"ListAllMyBucketsResult"`
	Buckets []struct {
		Name string `xml:"Name"`
	} `xml:"Buckets>Bucket"`
}

type locationConstraint struct {
	XMLName xml.Name `xml:"LocationConstraint"`
	Region  string   `xml:",chardata"`
}

func (s *Server) s3(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.s3Failure; f != nil {
		s3Error(w, f.status, f.code)
		return
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodGet && bucket == "":
		var list bucketList
		prefix := r.URL.Query().Get("prefix")
		for name := range s.buckets {
			if strings.HasPrefix(name, prefix) {
				list.Buckets = append(list.Buckets, struct {
					Name string `xml:"Name"`
				}{name})
			}
		}
		writeXML(w, list)
	case r.Method == http.MethodGet && r.URL.Query().Has("location"):
		region, ok := s.buckets[bucket]
		if !ok {
			s3Error(w, http.StatusNotFound, "NoSuchBucket")
			return
		}
		if region == "us-east-1" {
			region = ""
		}
		writeXML(w, locationConstraint{Region: region})
	case r.Method == http.MethodPut && key != "":
		if _, ok := s.buckets[bucket]; !ok {
			s3Error(w, http.StatusNotFound, "NoSuchBucket")
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			s3Error(w, http.StatusBadRequest, "IncompleteBody")
			return
		}
		s.objects[bucket+"/"+key] = body
		w.Header().Set("ETag", fmt.Sprintf("%q", "standin"))
		w.WriteHeader(http.StatusOK)
	default:
		s3Error(w, http.StatusNotImplemented, "NotImplemented")
	}
}

func writeXML(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/xml")
	io.WriteString(w, xml.Header)
	xml.NewEncoder(w).Encode(v)
}

func s3Error(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<Error><Code>%s</Code><Message>%s</Message></Error>", code, code)
}

func jsonError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": message})
}

func (s *Server) getSecretValue(w http.ResponseWriter, r *http.Request) {
	var in struct{ SecretId string }
	json.NewDecoder(r.Body).Decode(&in)
	s.mu.Lock()
	s.secretReads++
	value, ok := s.secrets[in.SecretId]
	s.mu.Unlock()
	if !ok {
		jsonError(w, http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(map[string]any{"ARN": in.SecretId, "Name": in.SecretId, "SecretString": value, "VersionId": "v1"})
}

func (s *Server) putEvents(w http.ResponseWriter, r *http.Request) {
	var in struct{ Entries []Event }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		jsonError(w, http.StatusBadRequest, "ValidationException", err.Error())
		return
	}
	s.mu.Lock()
	fail := s.failEvents
	if !fail {
		s.events = append(s.events, in.Entries...)
	}
	s.mu.Unlock()
	out := struct {
		FailedEntryCount int
		Entries          []map[string]string
	}{}
	for i := range in.Entries {
		if fail {
			out.FailedEntryCount++
			out.Entries = append(out.Entries, map[string]string{"ErrorCode": "InternalFailure", "ErrorMessage": "stand-in told to fail"})
		} else {
			out.Entries = append(out.Entries, map[string]string{"EventId": fmt.Sprintf("event-%d", i)})
		}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"remotion-lambda-iam/contract/renderapi"
)

// client calls the render API with requests signed by SigV4, from the
// caller's normal AWS credential chain.
type client struct {
	base   *url.URL
	http   *http.Client
	creds  aws.CredentialsProvider
	region string
	signer *v4.Signer
}

// executeAPIHost reads the region from an API Gateway URL:
// https://<id>.execute-api.<region>.amazonaws.com.
var executeAPIHost = regexp.MustCompile(`^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$`)

func newClient(apiURL string, cfg aws.Config) (*client, error) {
	u, err := url.Parse(strings.TrimSuffix(apiURL, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("the API URL %q is not a URL such as https://abc123.execute-api.us-east-1.amazonaws.com", apiURL)
	}
	region := cfg.Region
	if m := executeAPIHost.FindStringSubmatch(u.Hostname()); m != nil {
		region = m[1]
	}
	if region == "" {
		return nil, errors.New("no AWS region: set AWS_REGION, or use the API's execute-api URL")
	}
	if cfg.Credentials == nil {
		return nil, errors.New("no AWS credentials: configure them as for the AWS CLI (aws configure, aws sso login)")
	}
	return &client{base: u, http: &http.Client{Timeout: 60 * time.Second}, creds: cfg.Credentials, region: region, signer: v4.NewSigner()}, nil
}

// apiError is an error answer of the API.
type apiError struct {
	Status     int
	Detail     renderapi.Error
	RetryAfter time.Duration // from the Retry-After header, if any
}

func (e *apiError) Error() string {
	msg := fmt.Sprintf("%d %s: %s", e.Status, e.Detail.Code, e.Detail.Message)
	if e.Detail.Field != "" {
		msg += " (field " + e.Detail.Field + ")"
	}
	return msg
}

// startAttempts bounds how often a start is sent. Every attempt carries the
// same Idempotency-Key, so the API starts one render however many arrive.
const startAttempts = 4

// start sends POST /renders with key, again after a 5xx, a 429, a 409
// idempotency_in_progress or a network failure, backing off between
// attempts, and says so on log.
func (c *client) start(ctx context.Context, body []byte, key string, log io.Writer) (*renderapi.StartResponse, error) {
	header := http.Header{renderapi.HeaderIdempotencyKey: {key}}
	var res renderapi.StartResponse
	for attempt := 1; ; attempt++ {
		err := c.do(ctx, http.MethodPost, "/renders", nil, header, body, &res)
		if err == nil {
			return &res, nil
		}
		wait, retry := retryable(err, attempt)
		if !retry || attempt == startAttempts || ctx.Err() != nil {
			return nil, fmt.Errorf("start render: %w", err)
		}
		fmt.Fprintf(log, "start render: %v; retrying in %v with the same Idempotency-Key (attempt %d of %d)\n", err, wait, attempt+1, startAttempts)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("start render: %w", ctx.Err())
		case <-time.After(wait):
		}
	}
}

// retryBase is the first backoff; it doubles with each attempt.
var retryBase = time.Second

// retryable says whether a failed start may be sent again with its key, and
// after how long.
func retryable(err error, attempt int) (time.Duration, bool) {
	wait := retryBase << (attempt - 1)
	var ae *apiError
	if !errors.As(err, &ae) {
		return wait, true // the network: the key makes a repeat safe
	}
	switch {
	case ae.Detail.Code == renderapi.CodeSpendLimitReached:
		return 0, false // it waits for the next day or month: say so now
	case ae.Detail.Code == renderapi.CodeIdempotencyInProgress || ae.Status == http.StatusTooManyRequests:
		if ae.RetryAfter > 0 {
			wait = ae.RetryAfter
		}
		return wait, true
	case ae.Status >= 500:
		return wait, true
	}
	return 0, false
}

// list reads a page of the caller's renders, or everyone's.
func (c *client) list(ctx context.Context, everyone bool, limit int, cursor string) (*renderapi.RenderList, error) {
	path := "/renders"
	if everyone {
		path = "/renders/all"
	}
	query := url.Values{"limit": {strconv.Itoa(limit)}}
	if cursor != "" {
		query.Set("cursor", cursor)
	}
	var res renderapi.RenderList
	if err := c.do(ctx, http.MethodGet, path, query, nil, nil, &res); err != nil {
		return nil, fmt.Errorf("list renders: %w", err)
	}
	return &res, nil
}

// cancel takes one of the caller's renders that waits its turn out of the
// line.
func (c *client) cancel(ctx context.Context, renderID string) (*renderapi.Render, error) {
	var res renderapi.Render
	if err := c.do(ctx, http.MethodDelete, "/renders/"+url.PathEscape(renderID), nil, nil, nil, &res); err != nil {
		return nil, fmt.Errorf("cancel render %s: %w", renderID, err)
	}
	return &res, nil
}

// costs reads what the caller's renders cost by day, or everyone's.
func (c *client) costs(ctx context.Context, everyone bool, from, to string) (*renderapi.CostsByDay, error) {
	path := "/renders/costs"
	if everyone {
		path = "/renders/all/costs"
	}
	query := url.Values{}
	if from != "" {
		query.Set("from", from)
	}
	if to != "" {
		query.Set("to", to)
	}
	var res renderapi.CostsByDay
	if err := c.do(ctx, http.MethodGet, path, query, nil, nil, &res); err != nil {
		return nil, fmt.Errorf("read the costs: %w", err)
	}
	return &res, nil
}

func (c *client) progress(ctx context.Context, renderID, bucket string) (*renderapi.Progress, error) {
	var res renderapi.Progress
	// A render with a record here needs no bucket; one without, such as
	// one of a deployment that keeps no records, does.
	var query url.Values
	if bucket != "" {
		query = url.Values{"bucket": {bucket}}
	}
	if err := c.do(ctx, http.MethodGet, "/renders/"+url.PathEscape(renderID), query, nil, nil, &res); err != nil {
		return nil, fmt.Errorf("render progress: %w", err)
	}
	return &res, nil
}

func (c *client) do(ctx context.Context, method, path string, query url.Values, header http.Header, body []byte, out any) error {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("AWS credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "execute-api", c.region, time.Now()); err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			renderapi.ErrorResponse
			// API Gateway's own refusals (IAM, throttling) say only this.
			Message string `json:"message"`
		}
		json.Unmarshal(raw, &e)
		ae := &apiError{Status: resp.StatusCode, Detail: e.Error}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			ae.RetryAfter = time.Duration(s) * time.Second
		}
		if ae.Detail.Code == "" {
			ae.Detail.Code, ae.Detail.Message = renderapi.ErrorCode(http.StatusText(resp.StatusCode)), e.Message
		}
		if ae.Detail.Message == "" {
			ae.Detail.Message = strings.TrimSpace(string(raw))
		}
		return ae
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("the API answered %d with something other than JSON: %w", resp.StatusCode, err)
	}
	return nil
}

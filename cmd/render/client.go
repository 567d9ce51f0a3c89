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
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"remotion-lambda-iam/lambda/api/wire"
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
	Status int
	Detail wire.Error
}

func (e *apiError) Error() string {
	msg := fmt.Sprintf("%d %s: %s", e.Status, e.Detail.Code, e.Detail.Message)
	if e.Detail.Field != "" {
		msg += " (field " + e.Detail.Field + ")"
	}
	return msg
}

func (c *client) start(ctx context.Context, body []byte) (*wire.StartResponse, error) {
	var res wire.StartResponse
	if err := c.do(ctx, http.MethodPost, "/renders", nil, body, &res); err != nil {
		return nil, fmt.Errorf("start render: %w", err)
	}
	return &res, nil
}

func (c *client) progress(ctx context.Context, renderID, bucket string) (*wire.Progress, error) {
	var res wire.Progress
	if err := c.do(ctx, http.MethodGet, "/renders/"+url.PathEscape(renderID), url.Values{"bucket": {bucket}}, nil, &res); err != nil {
		return nil, fmt.Errorf("render progress: %w", err)
	}
	return &res, nil
}

func (c *client) do(ctx context.Context, method, path string, query url.Values, body []byte, out any) error {
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
			wire.ErrorResponse
			// API Gateway's own refusals (IAM, throttling) say only this.
			Message string `json:"message"`
		}
		json.Unmarshal(raw, &e)
		ae := &apiError{Status: resp.StatusCode, Detail: e.Error}
		if ae.Detail.Code == "" {
			ae.Detail.Code, ae.Detail.Message = wire.ErrorCode(http.StatusText(resp.StatusCode)), e.Message
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

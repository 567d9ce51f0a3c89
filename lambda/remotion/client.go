// Package remotion speaks the protocol of a deployed Remotion Lambda render
// function: it starts renders and reads their progress the way
// renderMediaOnLambda() and getRenderProgress() do in JavaScript.
package remotion

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"remotion-lambda-iam/lambda/env"
	"remotion-lambda-iam/lambda/remotion/render"
)

// Config says which render function a Client talks to.
type Config struct {
	FunctionName string // the render function's name or ARN
	Region       string // the render function's region
	Version      string // the Remotion version the function runs, e.g. 4.0.527
	// PolicyName is the managed policy that lets this function's role call
	// Remotion, named in access-denied errors; empty means Remotion's name
	// for it.
	PolicyName string
}

// Client calls one render function. It is safe for concurrent use; make one
// per process, since it caches the props bucket it finds.
type Client struct {
	lambda       *lambda.Client
	s3           *s3.Client
	functionName string
	region       string
	version      string
	policyName   string

	mu          sync.Mutex
	propsBucket string
}

// New makes a Client from an AWS configuration whose region is cfg.Region.
func New(awsCfg aws.Config, cfg Config) (*Client, error) {
	if cfg.FunctionName == "" {
		return nil, errors.New("remotion client: no render function name")
	}
	if cfg.Version == "" {
		v, ok := render.VersionFromFunctionName(cfg.FunctionName)
		if !ok {
			return nil, fmt.Errorf("remotion client: no version given and none in the function name %q", cfg.FunctionName)
		}
		cfg.Version = v
	}
	if cfg.Region != "" {
		awsCfg.Region = cfg.Region
	}
	if cfg.PolicyName == "" {
		cfg.PolicyName = env.DefaultExecutionPolicyName
	}
	return &Client{
		lambda:       lambda.NewFromConfig(awsCfg),
		s3:           s3.NewFromConfig(awsCfg),
		functionName: cfg.FunctionName,
		region:       awsCfg.Region,
		version:      cfg.Version,
		policyName:   cfg.PolicyName,
	}, nil
}

// Version is the Remotion version the client speaks.
func (c *Client) Version() string { return c.version }

// Region is the render function's region.
func (c *Client) Region() string { return c.region }

// StartRender starts a render, as renderMediaOnLambda() does. Options are
// validated first; a *render.ValidationError names the option at fault.
func (c *Client) StartRender(ctx context.Context, opts *render.Options) (*StartResult, error) {
	return c.startRender(ctx, opts, sendStartOnce)
}

// StartRenderOrThrottled is StartRender for a caller that waits out
// Lambda's throttling itself: a throttled start is not tried again, and
// fails at once with KindThrottled.
func (c *Client) StartRenderOrThrottled(ctx context.Context, opts *render.Options) (*StartResult, error) {
	return c.startRender(ctx, opts, sendStartOnceNotThrottled)
}

func (c *Client) startRender(ctx context.Context, opts *render.Options, once func(*lambda.Options)) (*StartResult, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Webhook != nil {
		if err := opts.Webhook.Validate(); err != nil {
			return nil, fmt.Errorf("start render: %w", err)
		}
	}
	payload, err := c.startPayload(ctx, opts)
	if err != nil {
		return nil, err
	}
	var res StartResult
	if err := c.invoke(ctx, payload, &res, once); err != nil {
		return nil, fmt.Errorf("start render: %w", err)
	}
	if res.RenderID == "" || res.BucketName == "" {
		return nil, c.mayHaveStarted(errors.New("the render function's reply had no renderId or bucketName"))
	}
	return &res, nil
}

// OutcomeUnknown reports whether a failed start may have launched the
// render: the start was sent, and its answer does not prove that nothing
// ran. Every other error of StartRender proves that nothing ran.
func OutcomeUnknown(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == KindOutcomeUnknown
}

// mayHaveStarted is the error of a start whose answer proves nothing.
// Remotion's start handler launches the render before it answers, so a
// crash, a timeout, an unreadable reply or an error it reports may all come
// after the launch.
func (c *Client) mayHaveStarted(err error) *Error {
	return &Error{Kind: KindOutcomeUnknown, Message: fmt.Sprintf(
		"the render may have started: the call to %s failed after it was sent (%s), so it was not repeated. "+
			"Look for the render before you start it again", c.functionName, firstLine(err.Error())), Err: err}
}

// startPayload encodes the start payload, uploading the props to S3 first if
// they are too large to travel inline.
func (c *Client) startPayload(ctx context.Context, opts *render.Options) ([]byte, error) {
	props, err := serializeProps(opts.InputProps)
	if err != nil {
		return nil, &render.ValidationError{Field: "inputProps", Message: "inputProps must be a JSON object"}
	}
	upload, err := needsUpload(props, opts.EnvVariables)
	if err != nil {
		return nil, err
	}
	serialized := serializedInputProps{Type: "payload", Payload: props}
	if upload {
		serialized, err = c.uploadProps(ctx, props, opts.Privacy)
		if err != nil {
			return nil, fmt.Errorf("start render: %w", err)
		}
	}
	return marshal(newStartPayload(opts, c.version, serialized))
}

// RenderProgress reads a render's progress, as getRenderProgress() does.
func (c *Client) RenderProgress(ctx context.Context, bucketName, renderID string) (*Progress, error) {
	payload, err := marshal(statusPayload{
		Type:       "status",
		BucketName: bucketName,
		RenderID:   renderID,
		Version:    c.version,
		LogLevel:   "info",
	})
	if err != nil {
		return nil, err
	}
	var p Progress
	if err := c.invoke(ctx, payload, &p, nil); err != nil {
		return nil, fmt.Errorf("render progress: %w", err)
	}
	return &p, nil
}

// reply is the envelope every routine answers with. Replies embed it, so that
// one decoding pass reads both the envelope and the result.
type reply struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

func (r *reply) envelope() *reply { return r }

// functionError is the body Lambda returns for an unhandled error.
type functionError struct {
	ErrorType    string `json:"errorType"`
	ErrorMessage string `json:"errorMessage"`
}

// invoke calls the render function synchronously and decodes a successful
// reply into out. Every failure comes back as an *Error. A start is sent
// again only when the function certainly did not run (see sendStartOnce),
// and a failure that does not prove it did not run is KindOutcomeUnknown.
func (c *Client) invoke(ctx context.Context, payload []byte, out interface{ envelope() *reply }, once func(*lambda.Options)) error {
	var optFns []func(*lambda.Options)
	start := once != nil
	if start {
		optFns = append(optFns, once)
	}
	res, err := c.lambda.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(c.functionName),
		InvocationType: types.InvocationTypeRequestResponse,
		Payload:        payload,
	}, optFns...)
	if err != nil {
		if start && !notRun(err) {
			return c.mayHaveStarted(err)
		}
		return c.classifyInvokeError(err)
	}
	if res.FunctionError != nil {
		var fe functionError
		if err := json.Unmarshal(res.Payload, &fe); err != nil || fe.ErrorMessage == "" {
			fe.ErrorMessage = aws.ToString(res.FunctionError) + " error without a message"
		}
		e := c.classifyFunctionError(KindFunctionCrashed, fe.ErrorMessage)
		if start && e.Kind != KindVersionMismatch {
			return c.mayHaveStarted(errors.New(fe.ErrorMessage))
		}
		return e
	}
	if err := json.Unmarshal(res.Payload, out); err != nil {
		if start {
			return c.mayHaveStarted(fmt.Errorf("its reply is not JSON: %w", err))
		}
		return &Error{Kind: KindUpstream, Message: "the render function's reply is not what this client understands", Err: err}
	}
	switch r := out.envelope(); r.Type {
	case "success":
		return nil
	case "error":
		e := c.classifyFunctionError(KindRenderRejected, r.Message)
		// Remotion checks the version before anything else: only that
		// refusal proves that the start launched nothing.
		if start && e.Kind != KindVersionMismatch {
			return c.mayHaveStarted(errors.New(r.Message))
		}
		return e
	default:
		err := fmt.Errorf("the render function replied with unknown type %q", r.Type)
		if start {
			return c.mayHaveStarted(err)
		}
		return &Error{Kind: KindUpstream, Message: err.Error()}
	}
}

// uploadProps writes props that are too large for the payload into the
// region's Remotion bucket, as Remotion's client does, and says where.
func (c *Client) uploadProps(ctx context.Context, props string, privacy render.Privacy) (serializedInputProps, error) {
	bucket, err := c.findPropsBucket(ctx)
	if err != nil {
		return serializedInputProps{}, err
	}
	hash := randomHash()
	in := &s3.PutObjectInput{
		Bucket:      aws.String(bucket),
		Key:         aws.String(InputPropsKey(hash)),
		Body:        strings.NewReader(props),
		ContentType: aws.String("application/json"),
	}
	if privacy != render.PrivacyNoACL {
		in.ACL = s3types.ObjectCannedACLPrivate
	}
	if _, err := c.s3.PutObject(ctx, in); err != nil {
		return serializedInputProps{}, c.classifyS3Error("upload input props to "+bucket, err)
	}
	return serializedInputProps{Type: "bucket-url", Hash: hash, BucketName: bucket}, nil
}

// findPropsBucket finds the one remotionlambda-* bucket in the client's
// region, once per process.
func (c *Client) findPropsBucket(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.propsBucket != "" {
		return c.propsBucket, nil
	}
	list, err := c.s3.ListBuckets(ctx, &s3.ListBucketsInput{Prefix: aws.String(render.BucketPrefix)})
	if err != nil {
		return "", c.classifyS3Error("list buckets", err)
	}
	var found []string
	for _, b := range list.Buckets {
		name := aws.ToString(b.Name)
		if !strings.HasPrefix(name, render.BucketPrefix) {
			continue
		}
		loc, err := c.s3.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String(name)})
		if err != nil {
			return "", c.classifyS3Error("locate bucket "+name, err)
		}
		region := string(loc.LocationConstraint)
		if region == "" {
			region = "us-east-1" // S3 reports us-east-1 as no constraint
		}
		if region == c.region {
			found = append(found, name)
		}
	}
	switch len(found) {
	case 0:
		return "", &Error{Kind: KindUpstream, Message: fmt.Sprintf(
			"input props too large to send inline need a %s* bucket in %s, and there is none: create one with `npx remotion lambda sites create`", render.BucketPrefix, c.region)}
	case 1:
		c.propsBucket = found[0]
		return c.propsBucket, nil
	default:
		return "", &Error{Kind: KindUpstream, Message: fmt.Sprintf(
			"there are %d %s* buckets in %s (%s); Remotion expects exactly one: delete the extra ones", len(found), render.BucketPrefix, c.region, strings.Join(found, ", "))}
	}
}

func (c *Client) classifyS3Error(what string, err error) *Error {
	e := c.classifyInvokeError(err)
	switch e.Kind {
	case KindAccessDenied:
		e.Message = fmt.Sprintf("access denied trying to %s: attach the %s managed policy to this function's execution role", what, c.policyName)
	case KindTimeout:
		e.Message = fmt.Sprintf("S3 did not answer in time trying to %s", what)
	default:
		e.Kind = KindUpstream
		e.Message = fmt.Sprintf("S3 failed trying to %s", what)
	}
	return e
}

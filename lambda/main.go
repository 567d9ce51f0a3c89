// Command bootstrap is the trigger function: it starts renders on a deployed
// Remotion render function and reports their progress, behind API Gateway.
// Build it for provided.al2023 as:
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags "-s -w" -o bootstrap ./lambda
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	lambdaapi "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"remotion-lambda-iam/lambda/api"
	"remotion-lambda-iam/lambda/budget"
	"remotion-lambda-iam/lambda/env"
	"remotion-lambda-iam/lambda/eventbus"
	"remotion-lambda-iam/lambda/lifecycle"
	"remotion-lambda-iam/lambda/logs"
	"remotion-lambda-iam/lambda/records"
	"remotion-lambda-iam/lambda/remotion"
	"remotion-lambda-iam/lambda/remotion/render"
	"remotion-lambda-iam/lambda/secret"
)

func main() {
	log := logs.New(os.Stdout, logs.ParseLevel(os.Getenv(logs.LevelVariable)))
	h, renders, err := newHandler(context.Background(), log)
	if err != nil {
		// A function that cannot start still answers every request, with
		// the reason, rather than crash-looping behind a bare 502.
		log.Error("configuration", slog.String("error", err.Error()))
		lambda.Start(api.Misconfigured(err))
		return
	}
	lambda.Start(invocations{api: h, renders: renders, log: log}.handle)
}

// invocations answers what Lambda delivers: API Gateway's requests, and
// the events of the sweeper's schedule.
type invocations struct {
	api     *api.Handler
	renders *lifecycle.Service
	log     *slog.Logger
}

func (i invocations) handle(ctx context.Context, payload json.RawMessage) (any, error) {
	var event struct {
		Source     string `json:"source"`
		DetailType string `json:"detail-type"`
	}
	if json.Unmarshal(payload, &event) == nil && event.Source == "aws.events" && event.DetailType == "Scheduled Event" {
		return nil, i.sweep(ctx)
	}
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(payload, &req); err != nil {
		return nil, fmt.Errorf("the function takes API Gateway HTTP API events and its schedule's events, not this: %w", err)
	}
	return i.api.Handle(ctx, req)
}

// sweep runs the sweeper; a failure is logged, and the next minute's run
// tries again.
func (i invocations) sweep(ctx context.Context) (err error) {
	defer func() {
		if p := recover(); p != nil {
			logs.CountPanic(ctx, i.log)
			err = fmt.Errorf("the sweeper failed unexpectedly: %v", p)
		}
		if err != nil {
			i.log.LogAttrs(ctx, slog.LevelError, "sweep", slog.String("error", err.Error()))
		}
	}()
	return i.renders.Sweep(ctx)
}

// newHandler builds the API from the environment, once per cold start.
func newHandler(ctx context.Context, log *slog.Logger) (*api.Handler, *lifecycle.Service, error) {
	fn := os.Getenv(env.FunctionName)
	if fn == "" {
		return nil, nil, fmt.Errorf("%s is not set: name the Remotion render function", env.FunctionName)
	}
	// Every call also has a deadline from its request; this bounds one that
	// somehow has none to the function's own lifetime.
	awsCfg, err := config.LoadDefaultConfig(ctx, config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(env.FunctionTimeout)))
	if err != nil {
		return nil, nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	client, err := remotion.New(awsCfg, remotion.Config{
		FunctionName: fn,
		Region:       os.Getenv(env.Region),
		Version:      os.Getenv(env.Version),
		PolicyName:   os.Getenv(env.ExecutionPolicyName),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: set %s", err, env.Version)
	}
	cfg := api.Config{
		DefaultServeURL: os.Getenv(env.ServeURL),
		OutputBucket:    os.Getenv(env.OutputBucket),
	}
	if v := os.Getenv(env.MaxRequestBodyBytes); v != "" {
		if cfg.MaxBodyBytes, err = strconv.Atoi(v); err != nil || cfg.MaxBodyBytes <= 0 {
			return nil, nil, fmt.Errorf("%s=%q is not a positive number of bytes", env.MaxRequestBodyBytes, v)
		}
	}
	if list := os.Getenv(env.ServeURLAllowList); list != "" {
		for _, p := range strings.Split(list, ",") {
			cfg.ServeURLAllowList = append(cfg.ServeURLAllowList, strings.TrimSpace(p))
		}
	}
	var lc lifecycle.Config
	if table := os.Getenv(env.RenderTable); table != "" {
		days := env.DefaultRenderRecordDays
		if v := os.Getenv(env.RenderRecordDays); v != "" {
			if days, err = strconv.Atoi(v); err != nil || days <= 0 {
				return nil, nil, fmt.Errorf("%s=%q is not a positive number of days", env.RenderRecordDays, v)
			}
		}
		lc.Records = records.New(dynamodb.NewFromConfig(awsCfg), table, time.Duration(days)*24*time.Hour)
		if lc.Spend, err = spendOf(); err != nil {
			return nil, nil, err
		}
		if os.Getenv(env.RenderQueue) == "true" {
			if lc.Queue, err = queueOf(awsCfg, client.Region(), fn); err != nil {
				return nil, nil, err
			}
		}
		if arn := os.Getenv(env.WebhookSecretARN); arn != "" {
			lc.WebhookSecret = secret.New(secretsmanager.NewFromConfig(awsCfg), arn)
			lc.Events = eventbus.New(eventbridge.NewFromConfig(awsCfg), os.Getenv(env.EventBusName))
		}
	}
	renders := lifecycle.New(client, lc, log)
	h, err := api.New(renders, cfg, log)
	return h, renders, err
}

// queueOf reads the queue's settings. The budget is the render function's
// region's: Lambda's concurrency is counted per account and region.
func queueOf(awsCfg aws.Config, region, functionName string) (*lifecycle.Queue, error) {
	q := &lifecycle.Queue{MaxQueued: env.DefaultMaxQueuedRenders, RenderTimeout: render.TimeoutFromFunctionName(functionName)}
	fixed := 0
	for _, v := range []struct {
		name     string
		dst      *int
		min, max int
	}{
		{env.RenderConcurrencyBudget, &fixed, 0, 100000},
		{env.DefaultRenderConcurrency, &q.DefaultConcurrency, 0, render.MaxConcurrency},
		{env.MaxQueuedRenders, &q.MaxQueued, 1, env.MaxMaxQueuedRenders},
		{env.MaxQueuedPerCaller, &q.MaxQueuedPerCaller, 0, env.MaxMaxQueuedRenders},
	} {
		s := os.Getenv(v.name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < v.min || n > v.max {
			return nil, fmt.Errorf("%s=%q is not a whole number from %d to %d", v.name, s, v.min, v.max)
		}
		*v.dst = n
	}
	if fixed > 0 {
		q.Budget = budget.Fixed(fixed)
	} else {
		awsCfg.Region = region
		q.Budget = budget.Share(lambdaapi.NewFromConfig(awsCfg), env.BudgetShare)
	}
	return q, nil
}

// spendOf reads the ledger's limits and estimate, in USD.
func spendOf() (*lifecycle.Spend, error) {
	sp := &lifecycle.Spend{}
	for _, v := range []struct {
		name     string
		dst      **big.Rat
		fallback string
	}{
		{env.DailySpendLimit, &sp.Daily, ""},
		{env.MonthlySpendLimit, &sp.Monthly, ""},
		{env.EstimatedCostPerRender, &sp.Estimate, env.DefaultEstimatedCostPerRender},
	} {
		s := os.Getenv(v.name)
		if s == "" {
			s = v.fallback
		}
		if s == "" {
			continue
		}
		r, ok := new(big.Rat).SetString(s)
		if !ok || r.Sign() < 0 {
			return nil, fmt.Errorf("%s=%q is not an amount in USD such as 25 or 0.05", v.name, s)
		}
		if r.Sign() > 0 || v.dst == &sp.Estimate {
			*v.dst = r
		}
	}
	return sp, nil
}

// Command bootstrap is the trigger function: it starts renders on a deployed
// Remotion render function and reports their progress, behind API Gateway.
// Build it for provided.al2023 as:
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags "-s -w" -o bootstrap ./lambda
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"remotion-lambda-iam/lambda/api"
	"remotion-lambda-iam/lambda/env"
	"remotion-lambda-iam/lambda/eventbus"
	"remotion-lambda-iam/lambda/lifecycle"
	"remotion-lambda-iam/lambda/logs"
	"remotion-lambda-iam/lambda/records"
	"remotion-lambda-iam/lambda/remotion"
	"remotion-lambda-iam/lambda/secret"
)

func main() {
	log := logs.New(os.Stdout, logs.ParseLevel(os.Getenv(logs.LevelVariable)))
	h, err := newHandler(context.Background(), log)
	if err != nil {
		// A function that cannot start still answers every request, with
		// the reason, rather than crash-looping behind a bare 502.
		log.Error("configuration", slog.String("error", err.Error()))
		lambda.Start(api.Misconfigured(err))
		return
	}
	lambda.Start(h.Handle)
}

// newHandler builds the API from the environment, once per cold start.
func newHandler(ctx context.Context, log *slog.Logger) (*api.Handler, error) {
	fn := os.Getenv(env.FunctionName)
	if fn == "" {
		return nil, fmt.Errorf("%s is not set: name the Remotion render function", env.FunctionName)
	}
	// Every call also has a deadline from its request; this bounds one that
	// somehow has none to the function's own lifetime.
	awsCfg, err := config.LoadDefaultConfig(ctx, config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(env.FunctionTimeout)))
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	client, err := remotion.New(awsCfg, remotion.Config{
		FunctionName: fn,
		Region:       os.Getenv(env.Region),
		Version:      os.Getenv(env.Version),
		PolicyName:   os.Getenv(env.ExecutionPolicyName),
	})
	if err != nil {
		return nil, fmt.Errorf("%w: set %s", err, env.Version)
	}
	cfg := api.Config{
		DefaultServeURL: os.Getenv(env.ServeURL),
		OutputBucket:    os.Getenv(env.OutputBucket),
	}
	if v := os.Getenv(env.MaxRequestBodyBytes); v != "" {
		if cfg.MaxBodyBytes, err = strconv.Atoi(v); err != nil || cfg.MaxBodyBytes <= 0 {
			return nil, fmt.Errorf("%s=%q is not a positive number of bytes", env.MaxRequestBodyBytes, v)
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
				return nil, fmt.Errorf("%s=%q is not a positive number of days", env.RenderRecordDays, v)
			}
		}
		lc.Records = records.New(dynamodb.NewFromConfig(awsCfg), table, time.Duration(days)*24*time.Hour)
		if arn := os.Getenv(env.WebhookSecretARN); arn != "" {
			lc.WebhookSecret = secret.New(secretsmanager.NewFromConfig(awsCfg), arn)
			lc.Events = eventbus.New(eventbridge.NewFromConfig(awsCfg), os.Getenv(env.EventBusName))
		}
	}
	return api.New(lifecycle.New(client, lc, log), cfg, log)
}

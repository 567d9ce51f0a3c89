package awsjson

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
)

var ctx = context.Background()

// sdkEndpoint is the endpoint the SDK's own client of svc resolves.
func sdkEndpoint(t *testing.T, svc Service, region string) string {
	t.Helper()
	var (
		e   smithyendpoints.Endpoint
		err error
	)
	switch svc {
	case DynamoDB:
		e, err = dynamodb.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, dynamodb.EndpointParameters{Region: &region})
	case SecretsManager:
		e, err = secretsmanager.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, secretsmanager.EndpointParameters{Region: &region})
	case EventBridge:
		e, err = eventbridge.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, eventbridge.EndpointParameters{Region: &region})
	}
	if err != nil {
		t.Fatalf("the SDK resolves no endpoint of %s in %s: %v", svc.ID, region, err)
	}
	return e.URI.String()
}

// The function's clients reach the same hosts as the SDK's would, in every
// partition.
func TestEndpointsAreTheSDKs(t *testing.T) {
	regions := []string{"us-east-1", "eu-west-3", "ap-southeast-4", "il-central-1", "mx-central-1",
		"cn-north-1", "us-gov-west-1", "us-iso-east-1", "us-isob-east-1", "eu-isoe-west-1", "us-isof-south-1", "eusc-de-east-1"}
	for _, svc := range []Service{DynamoDB, SecretsManager, EventBridge} {
		for _, region := range regions {
			t.Run(svc.ID+"/"+region, func(t *testing.T) {
				want := sdkEndpoint(t, svc, region)

				got, err := resolveEndpoint(ctx, aws.Config{Region: region}, svc)

				if err != nil || got != want {
					t.Errorf("endpoint = %q, %v; the SDK's is %q", got, err, want)
				}
			})
		}
	}
}

// FIPS and dual-stack hosts differ by service and partition: a function
// configured for them is told to name its endpoints.
func TestFIPSAndDualStackNeedANamedEndpoint(t *testing.T) {
	tests := []struct {
		name string
		src  config.EnvConfig
	}{
		{"FIPS", config.EnvConfig{UseFIPSEndpoint: aws.FIPSEndpointStateEnabled}},
		{"dual-stack", config.EnvConfig{UseDualStackEndpoint: aws.DualStackEndpointStateEnabled}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := resolveEndpoint(ctx, aws.Config{Region: "us-gov-west-1", ConfigSources: []any{tt.src}}, SecretsManager)

			if err == nil || !strings.Contains(err.Error(), "name the endpoint in AWS_ENDPOINT_URL_SECRETS_MANAGER") {
				t.Errorf("err = %v, want one that names AWS_ENDPOINT_URL_SECRETS_MANAGER", err)
			}
		})
	}
}

// sdkConfiguredEndpoint is where the SDK's own client of svc, made from
// cfg, sends its requests.
func sdkConfiguredEndpoint(t *testing.T, cfg aws.Config, svc Service) string {
	t.Helper()
	var base *string
	switch svc {
	case DynamoDB:
		base = dynamodb.NewFromConfig(cfg).Options().BaseEndpoint
	case SecretsManager:
		base = secretsmanager.NewFromConfig(cfg).Options().BaseEndpoint
	case EventBridge:
		base = eventbridge.NewFromConfig(cfg).Options().BaseEndpoint
	}
	if base == nil {
		return sdkEndpoint(t, svc, cfg.Region)
	}
	return *base
}

// Configured endpoints are read from the environment and the config file
// through config.LoadDefaultConfig, and chosen as the SDK's clients choose.
func TestConfiguredEndpoints(t *testing.T) {
	servicesSection := "[default]\nservices = local\n[services local]\ndynamodb =\n  endpoint_url = http://127.0.0.1:8001\n"
	tests := []struct {
		name       string
		env        map[string]string
		configFile string
		svc        Service
		want       string
	}{
		{"the service's own", map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"}, "", DynamoDB, "http://127.0.0.1:8000/"},
		{"a service ID with a space", map[string]string{"AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:9000"}, "", SecretsManager, "http://127.0.0.1:9000/"},
		{"another service's is not taken", map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"}, "", EventBridge, "https://events.eu-west-1.amazonaws.com/"},
		{"the global one", map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566/"}, "", EventBridge, "http://127.0.0.1:4566/"},
		{"the service's before the global one", map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_EVENTBRIDGE": "http://127.0.0.1:9001"}, "", EventBridge, "http://127.0.0.1:9001/"},
		{"a services section of the config file", nil, servicesSection, DynamoDB, "http://127.0.0.1:8001/"},
		{"the global one before the config file's", map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}, servicesSection, DynamoDB, "http://127.0.0.1:4566/"},
		{"ignored when asked", map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, "", DynamoDB, "https://dynamodb.eu-west-1.amazonaws.com/"},
		{"FIPS with a named endpoint", map[string]string{"AWS_USE_FIPS_ENDPOINT": "true", "AWS_ENDPOINT_URL_DYNAMODB": "https://dynamodb.us-gov-west-1.amazonaws.com"}, "", DynamoDB, "https://dynamodb.us-gov-west-1.amazonaws.com/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolateEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			if tt.configFile != "" {
				os.WriteFile(os.Getenv("AWS_CONFIG_FILE"), []byte(tt.configFile), 0o600)
			}
			cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("eu-west-1"))
			if err != nil {
				t.Fatal(err)
			}

			c, err := New(ctx, cfg, tt.svc)

			if err != nil {
				t.Fatal(err)
			}
			if got := c.Endpoint(); got != tt.want {
				t.Errorf("endpoint = %q, want %q", got, tt.want)
			}
			if sdk := sdkConfiguredEndpoint(t, cfg, tt.svc); sdk+"/" != tt.want && sdk != tt.want {
				t.Errorf("the SDK's client of %s would send to %q", tt.svc.ID, sdk)
			}
		})
	}
}

// isolateEnv clears what the machine's environment and files could say.
func isolateEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SECRETS_MANAGER",
		"AWS_ENDPOINT_URL_EVENTBRIDGE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT", "AWS_PROFILE"} {
		t.Setenv(k, "") // so that it is put back after the test
		os.Unsetenv(k)  // the SDK asks whether some are set at all
	}
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/credentials")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
}

func TestNewNeedsARegionAndCredentials(t *testing.T) {
	creds := credentials.NewStaticCredentialsProvider("AKIDTEST", "test-secret", "")
	tests := []struct {
		name string
		cfg  aws.Config
		want string
	}{
		{"no region", aws.Config{Credentials: creds}, "DynamoDB: no region is configured: set AWS_REGION"},
		{"no credentials", aws.Config{Region: "us-east-1"}, "DynamoDB: no credentials are configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(ctx, tt.cfg, DynamoDB)

			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

package awsjson

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// dnsSuffixes are the partitions' domains, by the prefix of their regions'
// names, as the SDK's partitions.json has them. A region of none of them is
// in the aws partition, amazonaws.com, as the SDK has it.
var dnsSuffixes = []struct{ regionPrefix, dnsSuffix string }{
	{"cn-", "amazonaws.com.cn"},
	{"eusc-", "amazonaws.eu"},
	{"us-iso-", "c2s.ic.gov"},
	{"us-isob-", "sc2s.sgov.gov"},
	{"eu-isoe-", "cloud.adc-e.uk"},
	{"us-isof-", "csp.hci.ic.gov"},
}

// The interfaces through which the SDK's config package hands over what
// the environment and the shared config files say about endpoints.
type (
	serviceEndpointSource interface {
		GetServiceBaseEndpoint(ctx context.Context, sdkID string) (string, bool, error)
	}
	ignoreConfiguredEndpointsSource interface {
		GetIgnoreConfiguredEndpoints(ctx context.Context) (bool, bool, error)
	}
	fipsSource interface {
		GetUseFIPSEndpoint(ctx context.Context) (aws.FIPSEndpointState, bool, error)
	}
	dualStackSource interface {
		GetUseDualStackEndpoint(ctx context.Context) (aws.DualStackEndpointState, bool, error)
	}
)

// resolveEndpoint finds the service's endpoint the way the SDK's own client
// of the service does: the base endpoint of the configuration
// (AWS_ENDPOINT_URL), unless an endpoint of the service is configured
// (AWS_ENDPOINT_URL_<SERVICE>, or a services section of the shared config
// file where AWS_ENDPOINT_URL is not set); without either, the region's.
// FIPS and dual-stack endpoints follow rules of each service's own, with
// exceptions by partition: rather than guess them, it asks for the
// endpoint to be named.
func resolveEndpoint(ctx context.Context, cfg aws.Config, svc Service) (string, error) {
	endpoint := cfg.BaseEndpoint
	_, global := os.LookupEnv("AWS_ENDPOINT_URL")
	_, own := os.LookupEnv(svc.EndpointVariable())
	if (own || !global) && !ignoreConfigured(ctx, cfg) {
		for _, src := range cfg.ConfigSources {
			if s, ok := src.(serviceEndpointSource); ok {
				url, found, err := s.GetServiceBaseEndpoint(ctx, svc.ID)
				if err != nil {
					return "", fmt.Errorf("read the configured endpoint of %s: %w", svc.ID, err)
				}
				if found {
					endpoint = &url
					break
				}
			}
		}
	}
	if endpoint != nil {
		return *endpoint, nil
	}
	if useFIPS(ctx, cfg) || useDualStack(ctx, cfg) {
		return "", fmt.Errorf("%s: FIPS and dual-stack endpoints are not resolved by this function: "+
			"name the endpoint in %s", svc.ID, svc.EndpointVariable())
	}
	suffix := "amazonaws.com"
	for _, p := range dnsSuffixes {
		if strings.HasPrefix(cfg.Region, p.regionPrefix) {
			suffix = p.dnsSuffix
			break
		}
	}
	return "https://" + svc.EndpointPrefix + "." + cfg.Region + "." + suffix, nil
}

// EndpointVariable is the environment variable that names the service's
// endpoint, as AWS_ENDPOINT_URL_DYNAMODB.
func (s Service) EndpointVariable() string {
	return "AWS_ENDPOINT_URL_" + strings.ReplaceAll(strings.ToUpper(s.ID), " ", "_")
}

func ignoreConfigured(ctx context.Context, cfg aws.Config) bool {
	for _, src := range cfg.ConfigSources {
		if s, ok := src.(ignoreConfiguredEndpointsSource); ok {
			if v, found, err := s.GetIgnoreConfiguredEndpoints(ctx); err == nil && found {
				return v
			}
		}
	}
	return false
}

func useFIPS(ctx context.Context, cfg aws.Config) bool {
	for _, src := range cfg.ConfigSources {
		if s, ok := src.(fipsSource); ok {
			if v, found, err := s.GetUseFIPSEndpoint(ctx); err == nil && found {
				return v == aws.FIPSEndpointStateEnabled
			}
		}
	}
	return false
}

func useDualStack(ctx context.Context, cfg aws.Config) bool {
	for _, src := range cfg.ConfigSources {
		if s, ok := src.(dualStackSource); ok {
			if v, found, err := s.GetUseDualStackEndpoint(ctx); err == nil && found {
				return v == aws.DualStackEndpointStateEnabled
			}
		}
	}
	return false
}

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

// setting is the first value that one of the configuration's sources of
// kind S gives, as the SDK's clients read their settings: the environment
// first, then the shared config files.
func setting[S, V any](cfg aws.Config, get func(S) (V, bool, error)) (value V, found bool, err error) {
	for _, src := range cfg.ConfigSources {
		if s, ok := src.(S); ok {
			if value, found, err = get(s); err != nil || found {
				return value, found, err
			}
		}
	}
	return value, false, nil
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
	ignore, _, _ := setting(cfg, func(s ignoreConfiguredEndpointsSource) (bool, bool, error) {
		return s.GetIgnoreConfiguredEndpoints(ctx)
	})
	if (own || !global) && !ignore {
		url, found, err := setting(cfg, func(s serviceEndpointSource) (string, bool, error) { return s.GetServiceBaseEndpoint(ctx, svc.ID) })
		if err != nil {
			return "", fmt.Errorf("read the configured endpoint of %s: %w", svc.ID, err)
		}
		if found {
			endpoint = &url
		}
	}
	if endpoint != nil {
		return *endpoint, nil
	}
	fips, _, _ := setting(cfg, func(s fipsSource) (aws.FIPSEndpointState, bool, error) { return s.GetUseFIPSEndpoint(ctx) })
	dualStack, _, _ := setting(cfg, func(s dualStackSource) (aws.DualStackEndpointState, bool, error) {
		return s.GetUseDualStackEndpoint(ctx)
	})
	if fips == aws.FIPSEndpointStateEnabled || dualStack == aws.DualStackEndpointStateEnabled {
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

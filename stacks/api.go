package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"remotion-lambda-iam/config"
	"remotion-lambda-iam/contract/renderapi"
)

// cdk-nag's findings on routes without an authorizer, and why they stand.
var (
	unauthenticatedFinding = finding{"AwsSolutions-APIG4", "",
		"Authorization is off because the deployment set apiAuthorization=none explicitly, and synthesis warns about it; for use behind something that authenticates callers."}
	webhookFinding = finding{"AwsSolutions-APIG4", "",
		"Remotion's completion webhook cannot carry IAM or JWT credentials; the function verifies its HMAC-SHA512 signature over the raw body with a secret only the stack and Remotion hold, before reading it, and the route has its own lower throttle."}
)

// accessLogFormat is one JSON object per request, with HTTP API context
// variables only (REST API variables are rejected at deploy time).
const accessLogFormat = `{"requestId":"$context.requestId","requestTime":"$context.requestTime",` +
	`"ip":"$context.identity.sourceIp","caller":"$context.identity.caller","userArn":"$context.identity.userArn",` +
	`"routeKey":"$context.routeKey","status":"$context.status","protocol":"$context.protocol",` +
	`"responseLength":"$context.responseLength","integrationLatency":"$context.integrationLatency",` +
	`"integrationError":"$context.integrationErrorMessage","authorizerError":"$context.authorizer.error"}`

// accessLogSettings implements awsapigatewayv2.IAccessLogSettings.
type accessLogSettings struct {
	destination awsapigatewayv2.IAccessLogDestination
}

func (s *accessLogSettings) Destination() awsapigatewayv2.IAccessLogDestination { return s.destination }
func (s *accessLogSettings) Format() awsapigateway.AccessLogFormat {
	return awsapigateway.AccessLogFormat_Custom(jsii.String(accessLogFormat))
}

// newHTTPAPI puts fn behind an HTTP API with its routes, the configured
// authorization, throttling and JSON access logs. With records, it adds the
// lists: GET /renders, and GET /renders/all where the authorizer can tell an
// operator (an IAM policy on that route, or a JWT scope); with the queue,
// the routes to cancel a waiting render and to show the line.
func newHTTPAPI(scope constructs.Construct, fn awslambda.IFunction, cfg config.API, records config.Records, logRetentionDays int) awsapigatewayv2.HttpApi {
	api := awsapigatewayv2.NewHttpApi(scope, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		Description:        jsii.String("Starts Remotion renders and reports their progress"),
		CreateDefaultStage: jsii.Bool(false),
	})
	accessLogs := awslogs.NewLogGroup(scope, jsii.String("HttpApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     retention(logRetentionDays),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	stage := api.AddStage(jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageOptions{
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(cfg.ThrottleRateLimit),
			BurstLimit: jsii.Number(cfg.ThrottleBurstLimit),
		},
		AccessLogSettings: &accessLogSettings{destination: awsapigatewayv2.NewLogGroupLogDestination(accessLogs)},
	})

	integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("TriggerIntegration"), fn,
		&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
			PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
		})
	authorizer := newAuthorizer(scope, cfg)
	for _, r := range renderapi.Routes {
		if r.Records && !records.Tracking || r.Queue && !queueOn(records) {
			continue
		}
		options := &awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.Path),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)},
			Integration: integration,
			Authorizer:  authorizer,
		}
		var finding *finding
		switch r.Access {
		case renderapi.Operators:
			switch {
			case cfg.Authorization == config.AuthJWT && cfg.JWTAdminScope != "":
				options.AuthorizationScopes = jsii.Strings(cfg.JWTAdminScope)
			case cfg.Authorization != config.AuthIAM:
				continue // no way to tell an operator from any caller
			}
		case renderapi.Signed:
			// Remotion's render function can neither sign SigV4 nor hold a
			// JWT: the webhook's HMAC signature, checked before anything
			// else, is what protects this route, and its own throttle
			// bounds forgeries.
			options.Authorizer = awsapigatewayv2.NewHttpNoneAuthorizer()
			finding = &webhookFinding
			stage.Node().DefaultChild().(awscdk.CfnResource).AddPropertyOverride(
				jsii.String("RouteSettings."+r.Key()), webhookThrottle(cfg))
		}
		if cfg.Authorization == config.AuthNone && finding == nil {
			finding = &unauthenticatedFinding
		}
		for _, added := range *api.AddRoutes(options) {
			if finding != nil {
				accept(added, *finding)
			}
		}
	}
	return api
}

func newAuthorizer(scope constructs.Construct, cfg config.API) awsapigatewayv2.IHttpRouteAuthorizer {
	switch cfg.Authorization {
	case config.AuthJWT:
		return awsapigatewayv2authorizers.NewHttpJwtAuthorizer(jsii.String("JwtAuthorizer"), jsii.String(cfg.JWTIssuer),
			&awsapigatewayv2authorizers.HttpJwtAuthorizerProps{JwtAudience: jsii.Strings(cfg.JWTAudience...)})
	case config.AuthNone:
		awscdk.Annotations_Of(scope).AddWarningV2(jsii.String("remotion:unauthenticatedApi"), jsii.String(
			"apiAuthorization is none: anyone who finds the API's URL can start renders billed to this account. "+
				"Use iam or jwt unless something in front of the API authenticates callers."), nil)
		return awsapigatewayv2.NewHttpNoneAuthorizer()
	default:
		return awsapigatewayv2authorizers.NewHttpIamAuthorizer()
	}
}

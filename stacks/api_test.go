package stacks

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"

	"remotion-lambda-iam/contract/renderapi"
)

func TestHTTPAPIRoutesBothPathsToTheFunctionWithIAMAuth(t *testing.T) {
	s := defaultStack(t)
	apiID, api := s.only(t, "AWS::ApiGatewayV2::Api")
	fnID, _ := s.only(t, "AWS::Lambda::Function")
	integrationID, integration := s.only(t, "AWS::ApiGatewayV2::Integration")

	if props(api)["ProtocolType"] != "HTTP" {
		t.Errorf("ProtocolType = %v", props(api)["ProtocolType"])
	}
	assertEqual(t, "integration", map[string]any{
		"ApiId":                ref(apiID),
		"IntegrationType":      props(integration)["IntegrationType"],
		"IntegrationUri":       props(integration)["IntegrationUri"],
		"PayloadFormatVersion": props(integration)["PayloadFormatVersion"],
	}, map[string]any{
		"ApiId":                ref(apiID),
		"IntegrationType":      "AWS_PROXY",
		"IntegrationUri":       arnOf(fnID),
		"PayloadFormatVersion": "2.0",
	})
	routes := map[string]any{}
	for _, r := range s.resources("AWS::ApiGatewayV2::Route") {
		p := props(r)
		routes[p["RouteKey"].(string)] = map[string]any{"AuthorizationType": p["AuthorizationType"], "Target": p["Target"]}
	}
	target := joined("integrations/", ref(integrationID))
	iam := map[string]any{"AuthorizationType": "AWS_IAM", "Target": target}
	assertEqual(t, "routes", routes, map[string]any{
		"POST /renders": iam, "GET /renders/{renderId}": iam, "GET /renders": iam, "GET /renders/all": iam, "GET /renders/all/{renderId}": iam,
		"DELETE /renders/{renderId}": iam, "GET /renders/all/queue": iam, "GET /renders/costs": iam, "GET /renders/all/costs": iam,
		// Remotion's webhook cannot sign; its HMAC signature protects the route.
		"POST /webhooks/remotion": map[string]any{"AuthorizationType": "NONE", "Target": target},
	})
	apiPermissions := 0
	for _, p := range s.resources("AWS::Lambda::Permission") {
		if props(p)["Principal"] == "apigateway.amazonaws.com" {
			apiPermissions++
		}
	}
	if apiPermissions != len(routes) {
		t.Errorf("%d permissions for API Gateway to invoke the function, want one per route (%d)", apiPermissions, len(routes))
	}
}

// Without records, the API is the two routes of Remotion's guide.
func TestUntrackedAPIHasTheTwoRoutes(t *testing.T) {
	keys := map[string]bool{}
	for _, r := range synth(t, "untracked").resources("AWS::ApiGatewayV2::Route") {
		keys[props(r)["RouteKey"].(string)] = true
	}
	assertEqual(t, "routes", keys, map[string]bool{"POST /renders": true, "GET /renders/{renderId}": true})
}

// The operators' routes (everyone's renders) take the JWT admin scope, and
// do not exist without one.
func TestJWTListOfEveryoneNeedsTheAdminScope(t *testing.T) {
	scopes := func(name string) map[string]any {
		out := map[string]any{}
		for _, r := range synth(t, name).resources("AWS::ApiGatewayV2::Route") {
			out[props(r)["RouteKey"].(string)] = props(r)["AuthorizationScopes"]
		}
		return out
	}

	assertEqual(t, "routes with jwtAdminScope", scopes("jwt admin"), map[string]any{
		"POST /renders": nil, "GET /renders/{renderId}": nil, "GET /renders": nil, "DELETE /renders/{renderId}": nil,
		"GET /renders/all": []any{"renders/admin"}, "GET /renders/all/{renderId}": []any{"renders/admin"},
		"GET /renders/all/queue":  []any{"renders/admin"},
		"GET /renders/costs":      nil,
		"GET /renders/all/costs":  []any{"renders/admin"},
		"POST /webhooks/remotion": nil,
	})
	assertEqual(t, "routes without it", scopes("jwt"), map[string]any{
		"POST /renders": nil, "GET /renders/{renderId}": nil, "GET /renders": nil, "DELETE /renders/{renderId}": nil,
		"GET /renders/costs": nil, "POST /webhooks/remotion": nil,
	})
}

func TestAPIStageThrottlesAndWritesJSONAccessLogs(t *testing.T) {
	s := defaultStack(t)
	apiID, _ := s.only(t, "AWS::ApiGatewayV2::Api")
	logsID, logs := s.byID(t, "AWS::Logs::LogGroup", "HttpApiAccessLogs")
	_, stage := s.only(t, "AWS::ApiGatewayV2::Stage")
	p := props(stage)

	assertEqual(t, "stage", map[string]any{"ApiId": p["ApiId"], "StageName": p["StageName"], "AutoDeploy": p["AutoDeploy"]},
		map[string]any{"ApiId": ref(apiID), "StageName": "$default", "AutoDeploy": true})
	assertEqual(t, "throttling", p["DefaultRouteSettings"], map[string]any{"ThrottlingRateLimit": 10.0, "ThrottlingBurstLimit": 20.0})
	settings := p["AccessLogSettings"].(map[string]any)
	assertEqual(t, "access log destination", settings["DestinationArn"], arnOf(logsID))
	var format map[string]string
	if err := json.Unmarshal([]byte(settings["Format"].(string)), &format); err != nil {
		t.Fatalf("access log format is not JSON: %v", err)
	}
	if format["requestId"] != "$context.requestId" || format["status"] != "$context.status" || format["routeKey"] != "$context.routeKey" {
		t.Errorf("access log format = %v", format)
	}
	if days := props(logs)["RetentionInDays"]; days != 30.0 {
		t.Errorf("access log RetentionInDays = %v, want 30", days)
	}
}

func routeAuth(s *synthesized) map[string]any {
	out := map[string]any{}
	for _, r := range s.resources("AWS::ApiGatewayV2::Route") {
		p := props(r)
		out[p["RouteKey"].(string)] = map[string]any{"AuthorizationType": p["AuthorizationType"], "AuthorizerId": p["AuthorizerId"]}
	}
	return out
}

func TestJWTAuthorizationUsesTheIssuerAndAudience(t *testing.T) {
	issuer := "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf"
	s := synth(t, "jwt")
	authID, authorizer := s.only(t, "AWS::ApiGatewayV2::Authorizer")

	assertEqual(t, "authorizer", map[string]any{"AuthorizerType": props(authorizer)["AuthorizerType"], "JwtConfiguration": props(authorizer)["JwtConfiguration"]},
		map[string]any{"AuthorizerType": "JWT", "JwtConfiguration": map[string]any{"Issuer": issuer, "Audience": []any{"client-a", "client-b"}}})
	jwt := map[string]any{"AuthorizationType": "JWT", "AuthorizerId": ref(authID)}
	assertEqual(t, "routes", routeAuth(s), map[string]any{"POST /renders": jwt, "GET /renders/{renderId}": jwt, "GET /renders": jwt,
		"DELETE /renders/{renderId}": jwt, "GET /renders/costs": jwt, "POST /webhooks/remotion": map[string]any{"AuthorizationType": "NONE", "AuthorizerId": nil}})
}

func TestNoAuthorizationMustBeAskedForAndWarns(t *testing.T) {
	s := synth(t, "no auth")

	none := map[string]any{"AuthorizationType": "NONE", "AuthorizerId": nil}
	// No GET /renders/all nor its queue and costs: without authorization
	// nobody can be told an operator.
	assertEqual(t, "routes", routeAuth(s), map[string]any{"POST /renders": none, "GET /renders/{renderId}": none, "GET /renders": none,
		"DELETE /renders/{renderId}": none, "GET /renders/costs": none, "POST /webhooks/remotion": none})
	var warnings []*cxapi.SynthesisMessage
	noPanic(t, func() {
		warnings = *assertions.Annotations_FromStack(s.stack).FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("apiAuthorization is none")))
	})
	if len(warnings) != 1 {
		t.Errorf("%d warnings about the open API, want 1", len(warnings))
	}
	if def := defaultStack(t); len(def.resources("AWS::ApiGatewayV2::Authorizer")) != 0 || routeAuth(def)["POST /renders"].(map[string]any)["AuthorizationType"] != "AWS_IAM" {
		t.Error("the default is not IAM authorization")
	}
}

func TestThrottlingComesFromTheConfiguration(t *testing.T) {
	_, stage := synth(t, "overrides").only(t, "AWS::ApiGatewayV2::Stage")

	assertEqual(t, "throttling", props(stage)["DefaultRouteSettings"], map[string]any{"ThrottlingRateLimit": 50.0, "ThrottlingBurstLimit": 100.0})
}

// The webhook route's own throttle is below the stage's.
func TestWebhookRouteIsThrottledBelowTheStage(t *testing.T) {
	for _, name := range []string{"default", "overrides"} {
		_, stage := synth(t, name).only(t, "AWS::ApiGatewayV2::Stage")
		p := props(stage)
		stageLimits := p["DefaultRouteSettings"].(map[string]any)
		hook, ok := p["RouteSettings"].(map[string]any)["POST /webhooks/remotion"].(map[string]any)
		if !ok {
			t.Fatalf("%s: no route settings for the webhook: %v", name, p["RouteSettings"])
		}
		if hook["ThrottlingRateLimit"].(float64) >= stageLimits["ThrottlingRateLimit"].(float64) ||
			hook["ThrottlingBurstLimit"].(float64) >= stageLimits["ThrottlingBurstLimit"].(float64) {
			t.Errorf("%s: webhook throttle %v is not below the stage's %v", name, hook, stageLimits)
		}
	}
}

// Every route the API has is deployed where the configuration has it, with
// the authorizer its access needs: the operators' routes are the ones an
// IAM policy names (see the README) or the JWT admin scope guards; with no
// authorization they do not exist, since no caller could be told apart.
func TestOperatorRoutesCarryTheirAuthorizerAndScope(t *testing.T) {
	for _, tt := range []struct {
		config    string
		operators map[string]any // route key → its AuthorizationType and scopes; absent: not deployed
	}{
		{"default", map[string]any{"AWS_IAM": nil}},
		{"jwt admin", map[string]any{"JWT": []any{"renders/admin"}}},
		{"jwt", nil},
		{"no auth", nil},
	} {
		t.Run(tt.config, func(t *testing.T) {
			deployed := map[string]map[string]any{}
			for _, r := range synth(t, tt.config).resources("AWS::ApiGatewayV2::Route") {
				deployed[props(r)["RouteKey"].(string)] = props(r)
			}
			for _, route := range renderapi.Routes {
				if route.Access != renderapi.Operators {
					continue
				}
				p, ok := deployed[route.Key()]
				if tt.operators == nil {
					if ok {
						t.Errorf("%s is deployed without a way to tell an operator", route.Key())
					}
					continue
				}
				if !ok {
					t.Errorf("%s is not deployed", route.Key())
					continue
				}
				for authType, scopes := range tt.operators {
					assertEqual(t, route.Key(), map[string]any{"type": p["AuthorizationType"], "scopes": p["AuthorizationScopes"]},
						map[string]any{"type": authType, "scopes": scopes})
				}
			}
		})
	}
}

// The cost routes' resources keep these logical IDs once deployed: each
// route, and API Gateway's permission to invoke the function through it.
func TestCostRouteLogicalIDs(t *testing.T) {
	resources := defaultStack(t).template["Resources"].(map[string]any)
	var got []string
	for _, route := range []renderapi.Route{renderapi.RouteCosts, renderapi.RouteCostsAll} {
		for id, r := range resources {
			if res := r.(map[string]any); res["Type"] == "AWS::ApiGatewayV2::Route" && props(res)["RouteKey"] == route.Key() {
				got = append(got, id)
				prefix := logicalIDHash.ReplaceAllString(id, "") + "TriggerIntegrationPermission"
				for other := range resources {
					if logicalIDHash.ReplaceAllString(other, "") == prefix {
						got = append(got, other)
					}
				}
			}
		}
	}
	slices.Sort(got)

	assertEqual(t, "the cost routes' resources", got, []string{
		"HttpApiGETrendersallcosts02049032",
		"HttpApiGETrendersallcostsTriggerIntegrationPermission8E76AD31",
		"HttpApiGETrenderscostsBF4AA7A2",
		"HttpApiGETrenderscostsTriggerIntegrationPermissionF81EE49D",
	})
}

// Every callers' route is guarded as POST /renders is, in every mode of
// authorization; the operators' routes are checked above, and the webhook
// has its own.
func TestCallersRoutesCarryTheAPIsAuthorizer(t *testing.T) {
	for _, name := range []string{"default", "jwt", "jwt admin", "no auth"} {
		t.Run(name, func(t *testing.T) {
			routes := map[string]any{}
			for _, r := range synth(t, name).resources("AWS::ApiGatewayV2::Route") {
				p := props(r)
				routes[p["RouteKey"].(string)] = map[string]any{
					"AuthorizationType": p["AuthorizationType"], "AuthorizerId": p["AuthorizerId"], "AuthorizationScopes": p["AuthorizationScopes"],
				}
			}
			for _, route := range renderapi.Routes {
				if route.Access != renderapi.Callers {
					continue
				}
				if _, ok := routes[route.Key()]; !ok {
					t.Errorf("%s is not deployed", route.Key())
					continue
				}
				assertEqual(t, route.Key(), routes[route.Key()], routes[renderapi.RouteStart.Key()])
			}
		})
	}
}

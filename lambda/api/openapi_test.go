package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	yaml "github.com/pb33f/go-yaml"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	validatorerrors "github.com/pb33f/libopenapi-validator/errors"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"github.com/pb33f/libopenapi/orderedmap"

	"remotion-lambda-iam/contract/renderapi"
	"remotion-lambda-iam/internal/standin"
	"remotion-lambda-iam/internal/vectors"
	"remotion-lambda-iam/lambda/api"
)

// The API's description, and the contract it describes.
const (
	openAPIPath  = "../../docs/openapi.yaml"
	contractPath = "../../contract/renderapi/renderapi.go"
)

// openAPI reads the description and builds its OpenAPI 3 model, failing
// on any error of either.
func openAPI(t testing.TB) (libopenapi.Document, *v3.Document) {
	t.Helper()
	spec, err := os.ReadFile(openAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		t.Fatalf("%s: %v", openAPIPath, err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("%s: the OpenAPI 3 model: %v", openAPIPath, err)
	}
	if model == nil {
		t.Fatalf("%s: no OpenAPI 3 model", openAPIPath)
	}
	return doc, &model.Model
}

// extension decodes the x- extension name of an object of the model into v;
// false when it has none.
func extension(t testing.TB, where string, exts *orderedmap.Map[string, *yaml.Node], name string, v any) bool {
	t.Helper()
	node := exts.GetOrZero(name)
	if node == nil {
		return false
	}
	if err := node.Decode(v); err != nil {
		t.Fatalf("%s: %s: %v", where, name, err)
	}
	return true
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc, model := openAPI(t)

	if !strings.HasPrefix(model.Version, "3.1.") {
		t.Errorf("openapi: %q, want 3.1.x", model.Version)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("the validator cannot take the document: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok || len(verrs) > 0 {
		for _, e := range verrs {
			t.Errorf("%s: %s (%s)", openAPIPath, e.Message, e.Reason)
			for _, f := range e.SchemaValidationErrors {
				t.Errorf("  %s", f.Error())
			}
		}
		if len(verrs) == 0 {
			t.Error("the document is not valid OpenAPI, and the validator says nothing more")
		}
	}
	schemes := model.Components.SecuritySchemes
	sigv4, jwt := schemes.GetOrZero("sigv4"), schemes.GetOrZero("jwt")
	if sigv4 == nil || sigv4.Type != "apiKey" || sigv4.In != "header" || sigv4.Name != "Authorization" {
		t.Errorf("securitySchemes.sigv4 = %+v, want an apiKey in the Authorization header", sigv4)
	} else {
		var authType string
		if !extension(t, "sigv4", sigv4.Extensions, "x-amazon-apigateway-authtype", &authType) || authType != "awsSigv4" {
			t.Errorf("securitySchemes.sigv4 has x-amazon-apigateway-authtype %q, want awsSigv4", authType)
		}
	}
	if jwt == nil || jwt.Type != "http" || jwt.Scheme != "bearer" || jwt.BearerFormat != "JWT" {
		t.Errorf("securitySchemes.jwt = %+v, want http bearer JWT", jwt)
	}
}

// xRoute is an operation's x-route: who may call it, and which
// deployments have it.
type xRoute struct {
	Access  string `yaml:"access"`
	Records bool   `yaml:"records"`
	Queue   bool   `yaml:"queue"`
}

var accessNames = map[renderapi.Access]string{renderapi.Callers: "callers", renderapi.Operators: "operators", renderapi.Signed: "signed"}

// operations lists the description's operations by route key.
func operations(model *v3.Document) map[string]*v3.Operation {
	ops := map[string]*v3.Operation{}
	for path, item := range model.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			ops[strings.ToUpper(method)+" "+path] = op
		}
	}
	return ops
}

// The description has exactly the routes of renderapi.Routes, each with
// its access, the deployments that have it and its security.
func TestOpenAPIPathsAreTheRouteTable(t *testing.T) {
	_, model := openAPI(t)
	ops := operations(model)

	for _, r := range renderapi.Routes {
		op, ok := ops[r.Key()]
		if !ok {
			t.Errorf("%s is in renderapi.Routes but not in %s", r.Key(), openAPIPath)
			continue
		}
		var got xRoute
		if !extension(t, r.Key(), op.Extensions, "x-route", &got) {
			t.Errorf("%s has no x-route", r.Key())
		}
		if want := (xRoute{Access: accessNames[r.Access], Records: r.Records, Queue: r.Queue}); got != want {
			t.Errorf("%s: x-route %+v, want %+v", r.Key(), got, want)
		}
		var schemes []string
		for _, req := range op.Security {
			for name := range req.Requirements.KeysFromOldest() {
				schemes = append(schemes, name)
			}
		}
		switch {
		case op.Security == nil:
			t.Errorf("%s: no security of its own", r.Key())
		case r.Access == renderapi.Signed && len(op.Security) != 0:
			t.Errorf("%s: security %v, want none: the signature is the proof", r.Key(), schemes)
		case r.Access != renderapi.Signed && !slices.Equal(schemes, []string{"sigv4", "jwt"}):
			t.Errorf("%s: security %v, want either sigv4 or jwt", r.Key(), schemes)
		}
		var note string
		if r.Access == renderapi.Operators && !extension(t, r.Key(), op.Extensions, "x-operators", &note) {
			t.Errorf("%s is the operators' and has no x-operators", r.Key())
		}
		delete(ops, r.Key())
	}
	for key := range ops {
		t.Errorf("%s is in %s but not in renderapi.Routes", key, openAPIPath)
	}
}

// contractCodes are the constants of type ErrorCode of the contract.
func contractCodes(t testing.TB) []string {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), contractPath, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, decl := range file.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		for _, spec := range gen.Specs {
			vs := spec.(*ast.ValueSpec)
			if typ, ok := vs.Type.(*ast.Ident); !ok || typ.Name != "ErrorCode" {
				continue
			}
			for i, name := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("%s is not a string literal", name.Name)
				}
				code, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				codes = append(codes, code)
			}
		}
	}
	if len(codes) < 10 {
		t.Fatalf("%d ErrorCode constants in %s: the parse missed them", len(codes), contractPath)
	}
	return codes
}

// responseCodes are the x-error-codes of every response, by where they are.
func responseCodes(t testing.TB, model *v3.Document) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for key, op := range operations(model) {
		for status, resp := range op.Responses.Codes.FromOldest() {
			var codes []string
			if extension(t, key+" "+status, resp.Extensions, "x-error-codes", &codes) {
				out[key+" "+status] = codes
			}
		}
	}
	return out
}

// The description's error codes are the contract's, both ways; and every
// code is said to come from some operation.
func TestOpenAPIErrorCodesAreTheContracts(t *testing.T) {
	_, model := openAPI(t)
	errSchema := model.Components.Schemas.GetOrZero("Error")
	if errSchema == nil {
		t.Fatal("no components.schemas.Error")
	}
	code := errSchema.Schema().Properties.GetOrZero("code")
	if code == nil {
		t.Fatal("Error has no code")
	}
	var enum []string
	for _, n := range code.Schema().Enum {
		enum = append(enum, n.Value)
	}

	contract := contractCodes(t)
	for _, c := range contract {
		if !slices.Contains(enum, c) {
			t.Errorf("%q is an ErrorCode of the contract but not in Error.code's enum", c)
		}
	}
	for _, c := range enum {
		if !slices.Contains(contract, c) {
			t.Errorf("%q is in Error.code's enum but no ErrorCode of the contract", c)
		}
	}
	if n := len(enum); n != len(contract) {
		t.Errorf("Error.code's enum has %d codes, the contract %d: one is listed twice", n, len(contract))
	}

	said := map[string]bool{}
	for where, codes := range responseCodes(t, model) {
		for _, c := range codes {
			if !slices.Contains(enum, c) {
				t.Errorf("%s: x-error-codes has %q, which is not an error code", where, c)
			}
			said[c] = true
		}
	}
	for _, c := range enum {
		if !said[c] {
			t.Errorf("no response of any operation says it answers %q", c)
		}
	}
}

// exchange is one request to the handler and its answer.
type exchange struct {
	req  events.APIGatewayV2HTTPRequest
	resp events.APIGatewayV2HTTPResponse
	// malformed: the request is one the description does not allow, on
	// purpose; only the answer is validated.
	malformed bool
}

// exchanges collects what the handler really answers, for the description.
type exchanges struct {
	t    *testing.T
	list []exchange
}

// do is fixture.do that keeps the request and the whole answer, and checks
// that the scenario still answers the status it is there for.
func (x *exchanges) do(f *fixture, want int, req events.APIGatewayV2HTTPRequest) map[string]any {
	x.t.Helper()
	return x.send(f, want, req, false)
}

// malformed is do for a request the description does not allow.
func (x *exchanges) malformed(f *fixture, want int, req events.APIGatewayV2HTTPRequest) map[string]any {
	x.t.Helper()
	return x.send(f, want, req, true)
}

func (x *exchanges) send(f *fixture, want int, req events.APIGatewayV2HTTPRequest, malformed bool) map[string]any {
	x.t.Helper()
	resp, err := f.h.Handle(context.Background(), req)
	if err != nil {
		x.t.Fatalf("%s: Handle returned an error: %v", req.RouteKey, err)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		x.t.Fatalf("%s: the body is not JSON: %v\n%s", req.RouteKey, err, resp.Body)
	}
	if resp.StatusCode != want {
		x.t.Fatalf("%s answered %d, want %d for this scenario: %s", req.RouteKey, resp.StatusCode, want, resp.Body)
	}
	x.list = append(x.list, exchange{req: req, resp: resp, malformed: malformed})
	return body
}

// httpRequest is the request API Gateway received: the route's path with
// its parameters, the query, the headers and the body. API Gateway passes
// on only what its authorizer let in, so a request the fixtures send
// without an authorizer's context is taken as SigV4-signed, the default
// deployment's.
func httpRequest(req events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	method, path, ok := strings.Cut(req.RouteKey, " ")
	if !ok {
		return nil, fmt.Errorf("route key %q", req.RouteKey)
	}
	for name, value := range req.PathParameters {
		path = strings.ReplaceAll(path, "{"+name+"}", url.PathEscape(value))
	}
	query := url.Values{}
	for k, v := range req.QueryStringParameters {
		query.Set(k, v)
	}
	target := "https://abc123defg.execute-api.us-east-1.amazonaws.com" + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	body := req.Body
	if req.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return nil, err
		}
		body = string(b)
	}
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	for k, v := range req.Headers {
		r.Header.Set(k, v)
	}
	if req.RouteKey != renderapi.RouteWebhook.Key() {
		auth := "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("0", 64)
		if a := req.RequestContext.Authorizer; a != nil && a.JWT != nil {
			auth = "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl"
		}
		r.Header.Set("Authorization", auth)
	}
	return r, nil
}

func httpResponse(resp events.APIGatewayV2HTTPResponse, req *http.Request) *http.Response {
	h := http.Header{}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	return &http.Response{
		StatusCode: resp.StatusCode, Status: fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(strings.NewReader(resp.Body)), ContentLength: int64(len(resp.Body)), Request: req,
	}
}

// progressOrStart answers a status call with Remotion's progress of a
// render underway, and every start as a new render.
func progressOrStart(t testing.TB, vector string) func(standin.Invocation) standin.Reply {
	progress := standin.Reply{Body: json.RawMessage(vectors.Read(t, vector))}
	return func(inv standin.Invocation) standin.Reply {
		if strings.Contains(string(inv.Payload), `"type":"status"`) {
			return progress
		}
		return standin.NewRenders(bucket)(inv)
	}
}

// The handler's real answers, in every deployment and for every route,
// are what the description says: each is validated with its request.
func TestOpenAPIDescribesTheHandlersAnswers(t *testing.T) {
	x := &exchanges{t: t}
	withRoute := func(route renderapi.Route, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
		req.RouteKey = route.Key()
		return req
	}

	// A deployment without records: a start, its progress read with its
	// bucket, and what the request and the render function can get wrong.
	plain := newFixture(t, api.Config{DefaultServeURL: serveURL}, standin.Always(started))
	x.do(plain, http.StatusAccepted, post(`{"composition":"MyComp","codec":"h264","crf":20,"frameRange":[0,99],"inputProps":{"title":"Hello"},"metadata":{"a":"b"},"downloadBehavior":{"type":"download","fileName":"a.mp4"}}`))
	x.malformed(plain, http.StatusBadRequest, post(`{"composition":"MyComp","colour":"red"}`))
	x.malformed(plain, http.StatusBadRequest, post(`{"composition":"MyComp","crf":70}`))
	x.malformed(plain, http.StatusBadRequest, post(`{"composition":`))
	x.malformed(plain, http.StatusRequestEntityTooLarge, post(`{"composition":"C","inputProps":{"x":"`+strings.Repeat("a", 1<<20)+`"}}`))
	form := post(`{"composition":"MyComp"}`)
	form.Headers = map[string]string{"content-type": "text/plain"}
	x.malformed(plain, http.StatusUnsupportedMediaType, form)
	x.do(plain, http.StatusBadRequest, withKey("order-1", post(`{"composition":"MyComp"}`))) // no records to honour it
	x.malformed(plain, http.StatusBadRequest, get(renderID, nil))                            // no records: the bucket is required
	for _, vector := range []string{"progress-justStarted.json", "progress-inProgress.json", "progress-done.json", "progress-fatal.json"} {
		f := newFixture(t, api.Config{}, standin.Always(standin.Reply{Body: vectors.Read(t, vector)}))
		x.do(f, http.StatusOK, get(renderID, map[string]string{"bucket": bucket}))
	}
	for _, failed := range []struct {
		reply        standin.Reply
		start, polls int
	}{
		{standin.Throttled, http.StatusTooManyRequests, http.StatusTooManyRequests},
		{standin.ServiceError, http.StatusBadGateway, http.StatusBadGateway}, // start_outcome_unknown, upstream_error
		{standin.Reply{Body: map[string]string{"type": "error", "message": "Version mismatch: the function has version 4.0.526"}}, http.StatusBadGateway, http.StatusBadGateway},
	} {
		f := newFixture(t, api.Config{DefaultServeURL: serveURL}, standin.Always(failed.reply))
		x.do(f, failed.start, post(`{"composition":"MyComp"}`))
		x.do(f, failed.polls, get(renderID, map[string]string{"bucket": bucket}))
	}

	// Records: idempotency, the lists, reads of anyone's render, a render
	// that is no one's, a start whose outcome is unknown, and a webhook to
	// a deployment that takes none.
	rec, _ := tracked(t, standin.Sequence(started, standin.ServiceError, standin.Reply{Body: vectors.Read(t, "progress-inProgress.json")}))
	first := x.do(rec, http.StatusAccepted, as(alice, withKey("order-42", post(`{"composition":"MyComp"}`))))
	x.do(rec, http.StatusAccepted, as(alice, withKey("order-42", post(`{"composition":"MyComp"}`)))) // replayed
	x.do(rec, http.StatusUnprocessableEntity, as(alice, withKey("order-42", post(`{"composition":"Other"}`))))
	x.do(rec, http.StatusBadGateway, as(alice, withKey("order-43", post(`{"composition":"MyComp"}`))))
	x.do(rec, http.StatusConflict, as(alice, withKey("order-43", post(`{"composition":"MyComp"}`))))
	x.do(rec, http.StatusOK, as(alice, list(renderapi.RouteList.Key(), map[string]string{"limit": "1"})))
	x.do(rec, http.StatusOK, as(bob, list(renderapi.RouteListAll.Key(), nil)))
	x.malformed(rec, http.StatusBadRequest, as(alice, list(renderapi.RouteList.Key(), map[string]string{"limit": "0"})))
	x.do(rec, http.StatusBadRequest, as(alice, list(renderapi.RouteList.Key(), map[string]string{"cursor": "not-a-cursor"})))
	x.do(rec, http.StatusOK, as(bob, withRoute(renderapi.RouteProgressAny, get(idOf(t, first), nil))))
	x.do(rec, http.StatusNotFound, as(bob, get(idOf(t, first), nil)))
	x.do(rec, http.StatusNotFound, as(bob, withRoute(renderapi.RouteProgressAny, get("norecord12", nil))))
	x.do(rec, http.StatusNotFound, delivery(t, "success", idOf(t, first))) // not_found: no webhook secret

	// The default deployment, with the queue: starts that go at once and
	// wait in line, their progress, the line, cancels, the webhooks.
	q, _ := queued(t, 10, progressOrStart(t, "progress-inProgress.json"))
	rendering := x.do(q, http.StatusAccepted, withConcurrency(alice, "5"))
	waiting := x.do(q, http.StatusAccepted, withConcurrency(alice, "5"))
	x.do(q, http.StatusOK, as(alice, get(idOf(t, rendering), nil)))
	x.do(q, http.StatusOK, as(alice, get(idOf(t, waiting), nil)))
	x.do(q, http.StatusOK, as(bob, withRoute(renderapi.RouteQueue, get("x", nil))))
	x.do(q, http.StatusBadRequest, fromAPIGateway(as(alice, post(`{"composition":"MyComp"}`)))) // over_budget
	x.do(q, http.StatusOK, as(alice, withRoute(renderapi.RouteCancel, get(idOf(t, waiting), nil))))
	x.do(q, http.StatusConflict, as(alice, withRoute(renderapi.RouteCancel, get(idOf(t, rendering), nil))))
	x.do(q, http.StatusNotFound, as(bob, withRoute(renderapi.RouteCancel, get(idOf(t, rendering), nil))))
	x.do(q, http.StatusOK, delivery(t, "success", idOf(t, rendering)))
	x.do(q, http.StatusOK, delivery(t, "success", idOf(t, rendering))) // duplicate
	demo := delivery(t, "error", idOf(t, rendering))
	demo.Headers["x-remotion-mode"] = "demo"
	x.do(q, http.StatusOK, demo)
	forged := delivery(t, "success", idOf(t, rendering))
	forged.Headers["x-remotion-signature"] = sign(forged.Body, "guess")
	x.do(q, http.StatusUnauthorized, forged)
	x.do(q, http.StatusNotFound, delivery(t, "timeout", "zzzzzz9999"))
	x.do(q, http.StatusOK, as(alice, get(idOf(t, rendering), nil))) // done, from its record
	x.do(q, http.StatusConflict, as(alice, withRoute(renderapi.RouteCancel, get(idOf(t, rendering), nil))))
	x.do(q, http.StatusOK, as(bob, list(renderapi.RouteListAll.Key(), nil)))
	x.do(q, http.StatusAccepted, withConcurrency(bob, "9"))
	for range 3 {
		x.do(q, http.StatusAccepted, withConcurrency(bob, "9"))
	}
	x.do(q, http.StatusTooManyRequests, withConcurrency(bob, "9")) // queue_full
	x.do(q, http.StatusOK, as(bob, withRoute(renderapi.RouteQueue, get("x", nil))))

	// A spend limit, and the costs.
	spend, _ := ledgered(t, "0.1", "", standin.NewRenders(bucket))
	a := x.do(spend, http.StatusAccepted, fromAPIGateway(as(alice, post(`{"composition":"MyComp"}`))))
	x.do(spend, http.StatusAccepted, fromAPIGateway(as(alice, post(`{"composition":"MyComp"}`))))
	x.do(spend, http.StatusTooManyRequests, fromAPIGateway(as(alice, post(`{"composition":"MyComp"}`)))) // spend_limit_reached
	x.do(spend, http.StatusOK, delivery(t, "success", idOf(t, a)))
	x.do(spend, http.StatusOK, delivery(t, "error", idOf(t, a)))
	x.do(spend, http.StatusOK, as(alice, list(renderapi.RouteCosts.Key(), nil)))
	x.do(spend, http.StatusOK, as(bob, list(renderapi.RouteCostsAll.Key(), map[string]string{"from": "2026-01-01", "to": "2026-12-31"})))
	x.do(spend, http.StatusOK, as(alice, list(renderapi.RouteList.Key(), nil)))
	x.do(spend, http.StatusOK, as(alice, get(idOf(t, a), nil)))
	x.malformed(spend, http.StatusBadRequest, as(alice, list(renderapi.RouteCosts.Key(), map[string]string{"from": "yesterday"})))
	x.do(spend, http.StatusBadRequest, as(alice, list(renderapi.RouteCosts.Key(), map[string]string{"from": "2026-12-02", "to": "2026-12-01"})))

	validateExchanges(t, x.list)
}

// validateExchanges validates each exchange against the description, with
// its request unless it is malformed on purpose, and each error's code
// against the codes its response lists.
func validateExchanges(t *testing.T, list []exchange) {
	doc, model := openAPI(t)
	v, errs := validator.NewValidator(doc, config.WithFormatAssertions())
	if len(errs) > 0 {
		t.Fatalf("the validator cannot take the document: %v", errs)
	}
	ops := operations(model)
	covered := map[string]bool{}
	for _, ex := range list {
		req, err := httpRequest(ex.req)
		if err != nil {
			t.Fatal(err)
		}
		resp := httpResponse(ex.resp, req)
		where := fmt.Sprintf("%s %d (%s)", ex.req.RouteKey, ex.resp.StatusCode, strings.TrimPrefix(req.URL.RequestURI(), "/"))
		covered[ex.req.RouteKey] = true

		var (
			ok    bool
			verrs []*validatorerrors.ValidationError
		)
		if ex.malformed {
			ok, verrs = v.ValidateHttpResponse(req, resp)
		} else {
			ok, verrs = v.ValidateHttpRequestResponse(req, resp)
		}
		if !ok || len(verrs) > 0 {
			for _, e := range verrs {
				msg := e.Message
				if e.Reason != "" && e.Reason != e.Message {
					msg += ": " + e.Reason
				}
				for _, f := range e.SchemaValidationErrors {
					msg += "; " + f.Error()
				}
				t.Errorf("%s: %s\n  body: %s", where, msg, ex.resp.Body)
			}
			if len(verrs) == 0 {
				t.Errorf("%s: not valid, and the validator says nothing more", where)
			}
		}

		if ex.resp.StatusCode < 400 {
			continue
		}
		var body renderapi.ErrorResponse
		json.Unmarshal([]byte(ex.resp.Body), &body)
		op := ops[ex.req.RouteKey]
		if op == nil {
			continue // reported by the validator
		}
		status := strconv.Itoa(ex.resp.StatusCode)
		described := op.Responses.Codes.GetOrZero(status)
		var codes []string
		if described == nil || !extension(t, where, described.Extensions, "x-error-codes", &codes) {
			t.Errorf("%s: the description lists no error codes for %s", where, status)
			continue
		}
		if !slices.Contains(codes, string(body.Error.Code)) {
			t.Errorf("%s: code %q is not among the codes %v the description lists for it", where, body.Error.Code, codes)
		}
	}
	for _, r := range renderapi.Routes {
		if !covered[r.Key()] {
			t.Errorf("no answer of %s was validated", r.Key())
		}
	}
	if testing.Verbose() {
		for _, ex := range list {
			var body renderapi.ErrorResponse
			json.Unmarshal([]byte(ex.resp.Body), &body)
			t.Logf("validated %s %d %s", ex.req.RouteKey, ex.resp.StatusCode, body.Error.Code)
		}
	}
}

package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"

	"remotion-lambda-iam/contract/renderapi"
	"remotion-lambda-iam/lambda/remotion/render"
)

// decodeStart reads the body of POST /renders and applies the deployment's
// serve URL and output bucket. Every failure is an *apiError that names what
// was wrong.
func (h *Handler) decodeStart(req *events.APIGatewayV2HTTPRequest) (*render.Options, *apiError) {
	sr, aerr := h.decodeRequest(req)
	if aerr != nil {
		return nil, aerr
	}
	return h.resolve(sr)
}

// decodeRequest reads the body of POST /renders as it was sent.
func (h *Handler) decodeRequest(req *events.APIGatewayV2HTTPRequest) (*renderapi.StartRequest, *apiError) {
	if ct := header(req.Headers, "content-type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, &apiError{Status: http.StatusUnsupportedMediaType, Code: renderapi.CodeUnsupportedMediaType,
				Message: fmt.Sprintf("the body must be JSON: send Content-Type: application/json, not %q", ct)}
		}
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return nil, &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeMalformedBody, Message: "the body is marked base64 but is not valid base64"}
		}
	}
	if len(body) > h.cfg.MaxBodyBytes {
		return nil, &apiError{Status: http.StatusRequestEntityTooLarge, Code: renderapi.CodeBodyTooLarge,
			Message: fmt.Sprintf("the body is %d bytes; the limit is %d: send large inputProps in fewer bytes", len(body), h.cfg.MaxBodyBytes)}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeEmptyBody,
			Message: `the body is empty: send a JSON object such as {"composition": "MyComp"}`}
	}

	var sr renderapi.StartRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sr); err != nil {
		return nil, decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeMalformedJSON, Message: "the body has data after its JSON object: send exactly one object"}
	}

	return &sr, nil
}

// resolve applies the deployment's serve URL and output bucket to a request.
// Remotion's own rules are checked by the client, which every render passes
// through; these are the deployment's.
func (h *Handler) resolve(sr *renderapi.StartRequest) (*render.Options, *apiError) {
	opts := &sr.Options
	if aerr := h.applyServeURL(opts); aerr != nil {
		return nil, aerr
	}
	if aerr := h.applyOutput(opts, sr.OutputKey); aerr != nil {
		return nil, aerr
	}
	return opts, nil
}

var jsonTypeNames = map[string]string{
	"string": "a string", "bool": "true or false", "int": "an integer", "float64": "a number",
}

// decodeError says which field of the body was wrong, and how.
func decodeError(err error) *apiError {
	var (
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
		validErr *render.ValidationError
	)
	switch {
	case errors.As(err, &syntax):
		return &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeMalformedJSON, Message: fmt.Sprintf("the body is not valid JSON (at byte %d): %v", syntax.Offset, syntax)}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeMalformedJSON, Message: "the body is not valid JSON: it ends too early"}
	case errors.As(err, &typ):
		if typ.Field == "" {
			return &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeWrongType, Message: fmt.Sprintf("the body must be a JSON object, not %s", typ.Value)}
		}
		// Options are embedded in the request; their path starts with the embedded type's name.
		field := strings.TrimPrefix(typ.Field, "Options.")
		want := jsonTypeNames[typ.Type.Name()]
		if field == "metadata" || field == "envVariables" {
			want = "an object whose values are strings"
		}
		if want == "" {
			want = "a " + typ.Type.String()
		}
		return &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeWrongType, Field: field,
			Message: fmt.Sprintf("%s must be %s, not %s", field, want, typ.Value)}
	case errors.As(err, &validErr):
		return validationError(validErr)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeUnknownField, Field: name,
			Message: fmt.Sprintf("%q is not an option of this API; see the README for the options it takes", name)}
	}
	return &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeMalformedJSON, Message: "the body is not a valid request: " + err.Error()}
}

func validationError(err error) *apiError {
	var v *render.ValidationError
	if !errors.As(err, &v) {
		return &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeInvalidValue, Message: err.Error()}
	}
	code := renderapi.CodeInvalidValue
	if v.Field == "composition" && strings.Contains(v.Message, "required") {
		code = renderapi.CodeMissingField
	}
	return &apiError{Status: http.StatusBadRequest, Code: code, Field: v.Field, Message: v.Message}
}

// applyServeURL fills in the deployment's serve URL, or checks the request's
// against the allow-list: rendering arbitrary pages on the account's bill is
// not something a caller may do.
func (h *Handler) applyServeURL(o *render.Options) *apiError {
	if o.ServeURL == "" {
		if h.cfg.DefaultServeURL == "" {
			return &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeMissingField, Field: "serveUrl",
				Message: "serveUrl is required: this deployment has no default serve URL (context key serveUrl)"}
		}
		o.ServeURL = h.cfg.DefaultServeURL
		return nil
	}
	if !h.serveURLs.allows(o.ServeURL) {
		return &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeServeURLNotAllowed, Field: "serveUrl",
			Message: fmt.Sprintf("serveUrl is not on this deployment's allow-list (%s); leave it out to use the default, or add a pattern with the context key serveUrlAllowList",
				strings.Join(h.serveURLs.patterns, ", "))}
	}
	return nil
}

// urlPolicy is an allow-list of URL patterns: "*" matches any run of
// characters within one path segment or host label group, "**" any run
// across segments.
type urlPolicy struct {
	patterns []string
	res      []*regexp.Regexp
}

func newURLPolicy(patterns []string) (urlPolicy, error) {
	p := urlPolicy{patterns: patterns}
	for _, pat := range patterns {
		var b strings.Builder
		b.WriteString("^")
		for i, part := range strings.Split(pat, "**") {
			if i > 0 {
				b.WriteString(`[^?#@\s]*`)
			}
			for j, seg := range strings.Split(part, "*") {
				if j > 0 {
					b.WriteString(`[^/?#@\s]*`)
				}
				b.WriteString(regexp.QuoteMeta(seg))
			}
		}
		b.WriteString("$")
		re, err := regexp.Compile(b.String())
		if err != nil {
			return urlPolicy{}, fmt.Errorf("serve URL pattern %q: %w", pat, err)
		}
		p.res = append(p.res, re)
	}
	return p, nil
}

func (p urlPolicy) allows(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || u.Host == "" {
		return false
	}
	for _, re := range p.res {
		if re.MatchString(raw) {
			return true
		}
	}
	return false
}

// The characters names may have, as cutsets of strings.Trim: regular
// expressions of them, compiled at every cold start, took 0.1 ms of it.
const (
	lowerDigits      = "abcdefghijklmnopqrstuvwxyz0123456789"
	outputKeyCharset = lowerDigits + "ABCDEFGHIJKLMNOPQRSTUVWXYZ!_.*'()/-"
)

const maxOutputKeyLength = 512

// applyOutput sends the render to the deployment's output bucket, if it has
// one. A request chooses the key, never the bucket.
func (h *Handler) applyOutput(o *render.Options, key *string) *apiError {
	if h.cfg.OutputBucket == "" {
		if key != nil {
			return &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeNoOutputBucket, Field: "outputKey",
				Message: "outputKey needs an output bucket, and this deployment has none: leave it out, or deploy with the context key outputBucket"}
		}
		return nil
	}
	if o.Privacy != "" && o.Privacy != render.PrivacyNoACL {
		return &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeInvalidValue, Field: "privacy",
			Message: fmt.Sprintf(`privacy %q needs ACLs, which the output bucket has disabled: leave privacy out or set it to "no-acl"`, o.Privacy)}
	}
	k := "renders/" + uuid.NewString() + "." + o.FileExtension()
	if key != nil {
		k = *key
		if msg := checkOutputKey(k); msg != "" {
			return &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeInvalidValue, Field: "outputKey", Message: msg}
		}
	}
	o.OutName = &render.OutName{Key: k, BucketName: h.cfg.OutputBucket}
	o.Privacy = render.PrivacyNoACL
	return nil
}

func checkOutputKey(k string) string {
	switch {
	case k == "" || len(k) > maxOutputKeyLength:
		return fmt.Sprintf("outputKey must be 1 to %d characters", maxOutputKeyLength)
	case strings.HasPrefix(k, "/") || strings.HasSuffix(k, "/"):
		return "outputKey cannot start or end with /"
	case strings.Trim(k, outputKeyCharset) != "":
		return "outputKey may only contain letters, digits and ! _ . * ' ( ) / -"
	}
	for _, seg := range strings.Split(k, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "outputKey cannot contain empty, . or .. path segments"
		}
	}
	return ""
}

// validRenderID is what Remotion's render IDs are made of.
func validRenderID(id string) bool {
	return len(id) >= 1 && len(id) <= 64 && strings.Trim(id, lowerDigits) == ""
}

// validBucket is a name of one of Remotion's buckets.
func validBucket(name string) bool {
	rest, ok := strings.CutPrefix(name, render.BucketPrefix)
	return ok && len(rest) >= 1 && len(rest) <= 48 && strings.Trim(rest, lowerDigits+"-") == ""
}

// decodeRenderID reads the render ID of a route that names one render.
func decodeRenderID(req *events.APIGatewayV2HTTPRequest) (string, *apiError) {
	renderID := req.PathParameters["renderId"]
	if !validRenderID(renderID) {
		return "", &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeInvalidValue, Field: "renderId",
			Message: "renderId must be the render ID that POST /renders returned (lowercase letters and digits)"}
	}
	return renderID, nil
}

// decodeProgress reads the render ID and its bucket from GET /renders/{renderId}.
func decodeProgress(req *events.APIGatewayV2HTTPRequest) (renderID, bucket string, aerr *apiError) {
	if renderID, aerr = decodeRenderID(req); aerr != nil {
		return "", "", aerr
	}
	bucket = req.QueryStringParameters["bucket"]
	if bucket != "" && !validBucket(bucket) {
		return "", "", &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeInvalidValue, Field: "bucket",
			Message: "bucket must be the remotionlambda-* bucket that POST /renders returned"}
	}
	return renderID, bucket, nil
}

// header looks a header up without regard to case; API Gateway lowercases
// them, other callers may not.
func header(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

package remotion

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Webhook headers, as Remotion's render function sends them.
const (
	HeaderSignature = "X-Remotion-Signature"
	HeaderMode      = "X-Remotion-Mode" // "production", or "demo" from Remotion's webhook tester
	HeaderStatus    = "X-Remotion-Status"
)

// noSecret is what Remotion signs with when it was given no secret.
const noSecret = "NO_SECRET_PROVIDED"

// ErrBadSignature is the reason a webhook is refused: its signature is
// missing, unsigned, malformed, or not the body's.
var ErrBadSignature = errors.New("bad webhook signature")

// VerifyWebhook checks the X-Remotion-Signature of a webhook: HMAC-SHA512 of
// the exact body bytes, keyed with secret, as "sha512=<hex>". It compares in
// constant time and looks at nothing else, so that it can run before the body
// is parsed. Every failure wraps ErrBadSignature and says which it was.
func VerifyWebhook(body []byte, signature, secret string) error {
	switch {
	case signature == "":
		return fmt.Errorf("%w: no %s header", ErrBadSignature, HeaderSignature)
	case signature == noSecret:
		return fmt.Errorf("%w: the render function had no secret (%s)", ErrBadSignature, noSecret)
	}
	hexMAC, ok := strings.CutPrefix(signature, "sha512=")
	got, err := hex.DecodeString(hexMAC)
	if !ok || err != nil || len(got) != sha512.Size {
		return fmt.Errorf("%w: not sha512=<128 hex digits>", ErrBadSignature)
	}
	mac := hmac.New(sha512.New, []byte(secret))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("%w: it does not match the body", ErrBadSignature)
	}
	return nil
}

// Webhook is the body of a completion webhook.
type Webhook struct {
	Type                string          `json:"type"` // success, error or timeout
	RenderID            string          `json:"renderId"`
	ExpectedBucketOwner string          `json:"expectedBucketOwner"`
	BucketName          string          `json:"bucketName"`
	CustomData          json.RawMessage `json:"customData"`
	// With success:
	OutputURL    string        `json:"outputUrl"`
	OutputFile   string        `json:"outputFile"`
	TimeToFinish *int64        `json:"timeToFinish"`
	Costs        *WebhookCosts `json:"costs"`
	// With error:
	Errors []struct {
		Message string `json:"message"`
		Name    string `json:"name"`
	} `json:"errors"`
}

// WebhookCosts is Remotion's cost estimate in a success webhook.
type WebhookCosts struct {
	EstimatedCost        json.Number `json:"estimatedCost"`
	EstimatedDisplayCost string      `json:"estimatedDisplayCost"`
	Currency             string      `json:"currency"`
}

package remotion_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"remotion-lambda-iam/internal/vectors"
	"remotion-lambda-iam/lambda/remotion"
)

func TestRemotionsSignaturesVerify(t *testing.T) {
	v := vectors.ReadWebhooks(t)
	for _, name := range []string{"success", "error", "timeout", "success-non-ascii"} {
		t.Run(name, func(t *testing.T) {
			vec := v.Vectors[name]
			if len(vec.Body) != vec.BodyBytes {
				t.Fatalf("the body is %d bytes, the vector says %d", len(vec.Body), vec.BodyBytes)
			}

			if err := remotion.VerifyWebhook([]byte(vec.Body), vec.Headers["X-Remotion-Signature"], v.Secret); err != nil {
				t.Errorf("Remotion's own signature was refused: %v", err)
			}
		})
	}
}

func TestForgedOrBrokenSignaturesAreRefused(t *testing.T) {
	v := vectors.ReadWebhooks(t)
	vec := v.Vectors["success"]
	body, signature := []byte(vec.Body), vec.Headers["X-Remotion-Signature"]
	flip := func(s string, i int) string {
		b := []byte(s)
		b[i] ^= 1
		return string(b)
	}
	tests := []struct {
		name            string
		body            []byte
		signature, says string
	}{
		{"one byte of the body changed", []byte(flip(vec.Body, 40)), signature, "does not match"},
		{"one hex digit of the signature changed", body, flip(signature, len(signature)-1), "does not match"},
		{"the prefix changed", body, "sha256=" + strings.TrimPrefix(signature, "sha512="), "not sha512="},
		{"the prefix's case changed", body, "SHA512=" + strings.TrimPrefix(signature, "sha512="), "not sha512="},
		{"truncated", body, signature[:len(signature)-2], "not sha512="},
		{"not hex", body, "sha512=" + strings.Repeat("zz", 64), "not sha512="},
		{"missing", body, "", "no X-Remotion-Signature"},
		{"unsigned", []byte(v.Vectors["no-secret"].Body), v.Vectors["no-secret"].Headers["X-Remotion-Signature"], "no secret"},
		{"another secret", body, signature, "does not match"},
		{"an empty body", []byte{}, signature, "does not match"},
		{"an oversized body", []byte(strings.Repeat("x", 300<<10)), signature, "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret := v.Secret
			if tt.name == "another secret" {
				secret += "x"
			}

			err := remotion.VerifyWebhook(tt.body, tt.signature, secret)

			if !errors.Is(err, remotion.ErrBadSignature) || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("err = %v, want ErrBadSignature saying %q", err, tt.says)
			}
		})
	}
}

// The non-ASCII vector is why customData stays ASCII: Remotion sends
// Content-Length as the JavaScript string length, short of the bytes.
func TestRemotionsContentLengthIsWrongForNonASCII(t *testing.T) {
	vec := vectors.ReadWebhooks(t).Vectors["success-non-ascii"]

	if vec.Headers["Content-Length"] == "409" || vec.BodyBytes != 409 {
		t.Errorf("Content-Length %s for %d bytes: the vector no longer shows the mismatch", vec.Headers["Content-Length"], vec.BodyBytes)
	}
}

func TestWebhookBodiesDecode(t *testing.T) {
	v := vectors.ReadWebhooks(t)
	var ok, failed, timedOut remotion.Webhook
	json.Unmarshal([]byte(v.Vectors["success"].Body), &ok)
	json.Unmarshal([]byte(v.Vectors["error"].Body), &failed)
	json.Unmarshal([]byte(v.Vectors["timeout"].Body), &timedOut)

	if ok.Type != "success" || ok.RenderID != "abcdef1234" || ok.OutputFile == "" || ok.TimeToFinish == nil || *ok.TimeToFinish != 23456 ||
		ok.Costs == nil || ok.Costs.EstimatedCost != "0.0123" {
		t.Errorf("success: %+v", ok)
	}
	if failed.Type != "error" || len(failed.Errors) != 1 || failed.Errors[0].Message != `Composition "Nope" not found` {
		t.Errorf("error: %+v", failed)
	}
	if timedOut.Type != "timeout" || timedOut.BucketName != "remotionlambda-useast1-abcdefghij" {
		t.Errorf("timeout: %+v", timedOut)
	}
}

package secret_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"remotion-lambda-iam/internal/standin"
	"remotion-lambda-iam/lambda/secret"
)

var ctx = context.Background()

func newSource(t *testing.T) (*secret.Source, *standin.Server) {
	t.Helper()
	srv := standin.Start(standin.Always(standin.Reply{}))
	t.Cleanup(srv.Close)
	return secret.New(secretsmanager.NewFromConfig(srv.AWSConfig()), "webhook"), srv
}

func TestTheSecretIsReadOnce(t *testing.T) {
	src, srv := newSource(t)
	srv.SetSecret("webhook", "s3cr3t")

	for range 3 {
		if v, err := src.Value(ctx); err != nil || v != "s3cr3t" {
			t.Fatalf("Value = %q, %v", v, err)
		}
	}

	if n := srv.SecretReads(); n != 1 {
		t.Errorf("%d reads, want 1", n)
	}
}

// A read that failed is tried again by the next request: a secret created
// or allowed after the function started is found.
func TestAFailedReadIsTriedAgain(t *testing.T) {
	src, srv := newSource(t)
	var notFound *types.ResourceNotFoundException

	_, err := src.Value(ctx)
	if err == nil || !strings.Contains(err.Error(), "read the webhook secret") || !errors.As(err, &notFound) {
		t.Fatalf("err = %v, want the service's answer", err)
	}
	srv.SetSecret("webhook", "s3cr3t")
	v, err := src.Value(ctx)

	if err != nil || v != "s3cr3t" {
		t.Errorf("Value = %q, %v", v, err)
	}
}

func TestASecretWithoutAStringIsAnError(t *testing.T) {
	src, srv := newSource(t)
	srv.SetSecret("webhook", "")

	_, err := src.Value(ctx)

	if err == nil || !strings.Contains(err.Error(), "no string value") {
		t.Errorf("err = %v, want one saying the secret has no string value", err)
	}
}

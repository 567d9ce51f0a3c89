// Package secret reads the webhook secret from Secrets Manager once per
// execution environment, on first use, and keeps it in memory. The value is
// never logged and never part of an error.
package secret

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Source is one secret, read lazily. It is safe for concurrent use.
type Source struct {
	sm *secretsmanager.Client
	id string

	mu    sync.Mutex
	value string
}

// New makes a Source of the secret id (its ARN or name), read through sm.
func New(sm *secretsmanager.Client, id string) *Source {
	return &Source{sm: sm, id: id}
}

// Value returns the secret, reading it on the first call. A failed read is
// not remembered: the next call tries again.
func (s *Source) Value(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.value != "" {
		return s.value, nil
	}
	out, err := s.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.id)})
	if err != nil {
		return "", fmt.Errorf("read the webhook secret: %w", err)
	}
	if aws.ToString(out.SecretString) == "" {
		return "", errors.New("read the webhook secret: it has no string value")
	}
	s.value = *out.SecretString
	return s.value, nil
}

// Package secret reads the webhook secret from Secrets Manager once per
// execution environment, ahead of its first use, and keeps it in memory. The value is
// never logged and never part of an error.
package secret

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"remotion-lambda-iam/lambda/awsjson"
)

// Source is one secret, read lazily. It is safe for concurrent use.
type Source struct {
	sm *awsjson.Client // of Secrets Manager
	id string

	mu    sync.Mutex
	value string
}

// New makes a Source of the secret id (its ARN or name), read through sm,
// a client of Secrets Manager.
func New(sm *awsjson.Client, id string) *Source {
	return &Source{sm: sm, id: id}
}

// prefetchTimeout bounds a read that nothing waits for yet, which holds
// back the requests that come to wait for it.
const prefetchTimeout = 5 * time.Second

// Prefetch starts reading the secret in the background: on a cold start
// the read overlaps the runtime's own start, and the first request that
// needs the secret waits for what is left of it, not for all of it. A
// failed read is left for that request to try again.
func (s *Source) Prefetch(ctx context.Context) {
	go func() {
		ctx, cancel := context.WithTimeout(ctx, prefetchTimeout)
		defer cancel()
		s.Value(ctx)
	}()
}

// Value returns the secret, reading it on the first call. A failed read is
// not remembered: the next call tries again.
func (s *Source) Value(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.value != "" {
		return s.value, nil
	}
	var out struct{ SecretString string }
	if err := s.sm.Call(ctx, "GetSecretValue", struct{ SecretId string }{s.id}, &out); err != nil {
		return "", fmt.Errorf("read the webhook secret: %w", err)
	}
	if out.SecretString == "" {
		return "", errors.New("read the webhook secret: it has no string value")
	}
	s.value = out.SecretString
	return s.value, nil
}

// Package budget says how many Lambda executions a deployment's renders
// may use at once: a number the deployment fixed, or a share of the
// account's unreserved concurrency, as lambda:GetAccountSettings tells it.
package budget

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// refresh is how long the account's concurrency is taken as read: it
// changes when a quota is raised or a function reserves concurrency, rarely.
const refresh = 5 * time.Minute

// Source is a deployment's budget. It is safe for concurrent use.
type Source struct {
	fixed  int
	share  float64
	lambda *lambda.Client

	mu      sync.Mutex
	read    int
	readAt  time.Time
	now     func() time.Time
	reading func(context.Context) (int, error)
}

// Fixed is a budget of n executions.
func Fixed(n int) *Source { return &Source{fixed: n} }

// Share is a budget of share of the account's unreserved concurrency, read
// through client every few minutes.
func Share(client *lambda.Client, share float64) *Source {
	s := &Source{share: share, lambda: client, now: time.Now}
	s.reading = s.unreserved
	return s
}

// Executions is the budget. A failed read of the account's concurrency is
// not fatal while an earlier read is at hand.
func (s *Source) Executions(ctx context.Context) (int, error) {
	if s.fixed > 0 {
		return s.fixed, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.readAt.IsZero() && s.now().Sub(s.readAt) < refresh {
		return s.read, nil
	}
	n, err := s.reading(ctx)
	if err != nil {
		if !s.readAt.IsZero() {
			return s.read, nil
		}
		return 0, err
	}
	s.read, s.readAt = int(float64(n)*s.share), s.now()
	return s.read, nil
}

func (s *Source) unreserved(ctx context.Context) (int, error) {
	out, err := s.lambda.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
	if err != nil {
		return 0, fmt.Errorf("read the account's Lambda concurrency: %w", err)
	}
	if out.AccountLimit == nil || out.AccountLimit.UnreservedConcurrentExecutions == nil {
		return 0, errors.New("read the account's Lambda concurrency: GetAccountSettings gave no unreserved concurrency")
	}
	return int(*out.AccountLimit.UnreservedConcurrentExecutions), nil
}

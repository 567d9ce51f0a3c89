package records

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
)

// Event publication states of a render's record.
const (
	eventPublishing = "publishing"
	eventPublished  = "published"
	eventFailed     = "failed"
)

var (
	event          = expression.Name("eventState")
	eventClaimedAt = expression.Name("eventClaimedAt")
)

// ClaimEvent takes the right to publish the outcome event of a finished
// render, which is published once: it reports false when the event was
// published, or another request is publishing it now. A claim older than
// the function's timeout belongs to a request that died, and is taken over.
func (s *Store) ClaimEvent(ctx context.Context, renderID string) (bool, error) {
	now := s.now()
	unclaimed := expression.AttributeNotExists(event).
		Or(expression.Equal(event, expression.Value(eventFailed))).
		Or(expression.Equal(event, expression.Value(eventPublishing)).And(eventClaimedAt.LessThan(expression.Value(now.Add(-staleClaim).UnixMilli()))))
	final := expression.In(state, expression.Value(Done), expression.Value(Failed), expression.Value(Cancelled))
	err := s.update(ctx, renderID,
		expression.Set(event, expression.Value(eventPublishing)).Set(eventClaimedAt, expression.Value(now.UnixMilli())),
		expression.AttributeExists(pk).And(final, unclaimed))
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim the event of render %s: %w", renderID, err)
	}
	return true, nil
}

// EventPublished records that the outcome event went out, or, with false,
// that it did not, so that the next request to see the render publishes it.
func (s *Store) EventPublished(ctx context.Context, renderID string, published bool) error {
	state := eventPublished
	if !published {
		state = eventFailed
	}
	err := s.update(ctx, renderID, expression.Set(event, expression.Value(state)), expression.AttributeExists(pk))
	if err != nil {
		return fmt.Errorf("record the event of render %s as %s: %w", renderID, state, err)
	}
	return nil
}

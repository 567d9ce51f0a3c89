package records

import (
	"context"
	"fmt"
	"time"

	"remotion-lambda-iam/lambda/records/table"
)

// Event publication states of a render's record.
const (
	eventPublishing = "publishing"
	eventPublished  = "published"
	eventFailed     = "failed"
)

// staleEventClaim is how long a delivery may hold the right to publish: one
// that died mid-publish frees it for Remotion's next retry.
const staleEventClaim = 30 * time.Second

// ClaimEvent takes the right to publish the render's outcome event, which
// is published once: it reports false when the event was published, or
// another delivery is publishing it now.
func (s *Store) ClaimEvent(ctx context.Context, renderID string) (bool, error) {
	now := s.now()
	err := s.db.Call(ctx, "UpdateItem", updateItemInput{
		TableName:        s.table,
		Key:              renderKey(renderID),
		UpdateExpression: "SET #event = :publishing, eventClaimedAt = :now",
		ConditionExpression: "attribute_exists(#pk) AND (attribute_not_exists(#event) OR #event = :failed OR " +
			"(#event = :publishing AND eventClaimedAt < :stale))",
		ExpressionAttributeNames: map[string]string{"#pk": table.PartitionKey, "#event": "eventState"},
		ExpressionAttributeValues: item{
			":publishing": str(eventPublishing),
			":failed":     str(eventFailed),
			":now":        integer(now.UnixMilli()),
			":stale":      integer(now.Add(-staleEventClaim).UnixMilli()),
		},
	}, nil)
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim the event of render %s: %w", renderID, err)
	}
	return true, nil
}

// EventPublished records that the outcome event went out, or, with false,
// that it did not, so that the next delivery publishes it.
func (s *Store) EventPublished(ctx context.Context, renderID string, published bool) error {
	state := eventPublished
	if !published {
		state = eventFailed
	}
	err := s.db.Call(ctx, "UpdateItem", updateItemInput{
		TableName:                 s.table,
		Key:                       renderKey(renderID),
		UpdateExpression:          "SET #event = :state",
		ExpressionAttributeNames:  map[string]string{"#event": "eventState"},
		ExpressionAttributeValues: item{":state": str(state)},
	}, nil)
	if err != nil {
		return fmt.Errorf("record the event of render %s as %s: %w", renderID, state, err)
	}
	return nil
}

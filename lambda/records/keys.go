package records

import (
	"context"
	"fmt"
	"time"

	"remotion-lambda-iam/lambda/records/table"
)

// KeyState is where the first request with an idempotency key stands.
type KeyState string

const (
	// KeyInProgress: the first request is starting the render.
	KeyInProgress KeyState = "in_progress"
	// KeyDone: the render started; Response is the first request's answer.
	KeyDone KeyState = "done"
	// KeyOutcomeUnknown: the start failed after it was sent; the render may
	// have started, and the key never starts another.
	KeyOutcomeUnknown KeyState = "outcome_unknown"
)

// Key is what the table remembers of an idempotency key.
type Key struct {
	State       KeyState
	RequestHash string
	Response    string
	ClaimedAt   time.Time
}

func idempotencyKey(caller, key string) item {
	return item{table.PartitionKey: str("key#" + callerHash(caller) + "#" + key)}
}

// Claim takes caller's idempotency key for the request whose hash is
// requestHash, before anything is started. It returns nil when the key is
// now this request's, and otherwise what the table holds for the key. An
// expired key that DynamoDB has not deleted yet counts as free.
func (s *Store) Claim(ctx context.Context, caller, key, requestHash string) (*Key, error) {
	now := s.now()
	it := idempotencyKey(caller, key)
	it["state"] = str(string(KeyInProgress))
	it["requestHash"] = str(requestHash)
	it["claimedAt"] = str(now.UTC().Format(time.RFC3339Nano))
	it[table.ExpiresAt] = integer(now.Add(KeyTTL).Unix())
	err := s.db.Call(ctx, "PutItem", putItemInput{
		TableName:                 s.table,
		Item:                      it,
		ConditionExpression:       "attribute_not_exists(#pk) OR #expires < :now",
		ExpressionAttributeNames:  map[string]string{"#pk": table.PartitionKey, "#expires": table.ExpiresAt},
		ExpressionAttributeValues: item{":now": integer(now.Unix())},
	}, nil)
	if !conditionFailed(err) {
		if err != nil {
			return nil, fmt.Errorf("claim idempotency key: %w", err)
		}
		return nil, nil
	}
	var out getItemOutput
	if err := s.db.Call(ctx, "GetItem", keyInput{TableName: s.table, Key: idempotencyKey(caller, key), ConsistentRead: true}, &out); err != nil {
		return nil, fmt.Errorf("read idempotency key: %w", err)
	}
	if out.Item == nil {
		// Released between the two calls: the caller may try again.
		return &Key{State: KeyInProgress, RequestHash: requestHash, ClaimedAt: now}, nil
	}
	k := &Key{
		State:       KeyState(stringOf(out.Item, "state")),
		RequestHash: stringOf(out.Item, "requestHash"),
		Response:    stringOf(out.Item, "response"),
	}
	k.ClaimedAt, _ = time.Parse(time.RFC3339Nano, stringOf(out.Item, "claimedAt"))
	return k, nil
}

// Complete remembers the answer of the request that claimed the key, for
// its repeats.
func (s *Store) Complete(ctx context.Context, caller, key, response string) error {
	return s.setKey(ctx, caller, key, KeyDone, response)
}

// MarkUnknown remembers that the start may have happened: the key will
// never start another render.
func (s *Store) MarkUnknown(ctx context.Context, caller, key string) error {
	return s.setKey(ctx, caller, key, KeyOutcomeUnknown, "")
}

func (s *Store) setKey(ctx context.Context, caller, key string, state KeyState, response string) error {
	err := s.db.Call(ctx, "UpdateItem", updateItemInput{
		TableName:                 s.table,
		Key:                       idempotencyKey(caller, key),
		UpdateExpression:          "SET #state = :state, #response = :response",
		ExpressionAttributeNames:  map[string]string{"#state": "state", "#response": "response"},
		ExpressionAttributeValues: item{":state": str(string(state)), ":response": str(response)},
	}, nil)
	if err != nil {
		return fmt.Errorf("set idempotency key to %s: %w", state, err)
	}
	return nil
}

// Release forgets the key: the request that claimed it started nothing, so
// a retry with it may start the render.
func (s *Store) Release(ctx context.Context, caller, key string) error {
	if err := s.db.Call(ctx, "DeleteItem", keyInput{TableName: s.table, Key: idempotencyKey(caller, key)}, nil); err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

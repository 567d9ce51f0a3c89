package records

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

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

func idempotencyKey(caller, key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{table.PartitionKey: str("key#" + callerHash(caller) + "#" + key)}
}

// Claim takes caller's idempotency key for the request whose hash is
// requestHash, before anything is started. It returns nil when the key is
// now this request's, and otherwise what the table holds for the key. An
// expired key that DynamoDB has not deleted yet counts as free.
func (s *Store) Claim(ctx context.Context, caller, key, requestHash string) (*Key, error) {
	now := s.now()
	item := idempotencyKey(caller, key)
	item["state"] = str(string(KeyInProgress))
	item["requestHash"] = str(requestHash)
	item["claimedAt"] = str(now.UTC().Format(time.RFC3339Nano))
	item[table.ExpiresAt] = integer(now.Add(KeyTTL).Unix())
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 &s.table,
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #expires < :now"),
		ExpressionAttributeNames:  map[string]string{"#pk": table.PartitionKey, "#expires": table.ExpiresAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": integer(now.Unix())},
	})
	var taken *types.ConditionalCheckFailedException
	if !errors.As(err, &taken) {
		if err != nil {
			return nil, fmt.Errorf("claim idempotency key: %w", err)
		}
		return nil, nil
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: idempotencyKey(caller, key), ConsistentRead: aws.Bool(true)})
	if err != nil {
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
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       idempotencyKey(caller, key),
		UpdateExpression:          aws.String("SET #state = :state, #response = :response"),
		ExpressionAttributeNames:  map[string]string{"#state": "state", "#response": "response"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":state": str(string(state)), ":response": str(response)},
	})
	if err != nil {
		return fmt.Errorf("set idempotency key to %s: %w", state, err)
	}
	return nil
}

// Release forgets the key: the request that claimed it started nothing, so
// a retry with it may start the render.
func (s *Store) Release(ctx context.Context, caller, key string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: idempotencyKey(caller, key)})
	if err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

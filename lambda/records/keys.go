package records

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"remotion-lambda-iam/lambda/records/table"
)

// KeyState is where the first request with an idempotency key stands.
type KeyState string

const (
	// KeyInProgress: the first request is starting the render.
	KeyInProgress KeyState = "in_progress"
	// KeyDone: the render started; RenderID is the render.
	KeyDone KeyState = "done"
	// KeyOutcomeUnknown: the start failed after it was sent; the render may
	// have started, and the key never starts another.
	KeyOutcomeUnknown KeyState = "outcome_unknown"
)

// Key is what the table remembers of an idempotency key.
type Key struct {
	State       KeyState  `dynamodbav:"state"`
	RequestHash string    `dynamodbav:"requestHash"`
	RenderID    string    `dynamodbav:"renderId,omitempty"`
	ClaimedAt   time.Time `dynamodbav:"claimedAt"`
	// Response is the first answer, as keys written before keys named their
	// render kept it.
	Response string `dynamodbav:"response,omitempty"`
}

// Stale reports whether the key is still in progress past the time its
// first request could be running: that request died, perhaps after it sent
// the start.
func (k *Key) Stale(now time.Time) bool {
	return k.State == KeyInProgress && now.Sub(k.ClaimedAt) > staleClaim
}

type keyItem struct {
	PK        string `dynamodbav:"pk"`
	ExpiresAt int64  `dynamodbav:"expiresAt"`
	Key
}

func idempotencyKey(caller, key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{table.PartitionKey: &types.AttributeValueMemberS{Value: "key#" + callerHash(caller) + "#" + key}}
}

// Claim takes caller's idempotency key for the request whose hash is
// requestHash, before anything is started. It returns nil when the key is
// now this request's, and otherwise what the table holds for the key. An
// expired key that DynamoDB has not deleted yet counts as free.
func (s *Store) Claim(ctx context.Context, caller, key, requestHash string) (*Key, error) {
	now := s.now()
	it, err := attributevalue.MarshalMap(keyItem{
		PK:        "key#" + callerHash(caller) + "#" + key,
		ExpiresAt: now.Add(KeyTTL).Unix(),
		Key:       Key{State: KeyInProgress, RequestHash: requestHash, ClaimedAt: now.UTC()},
	})
	if err != nil {
		return nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	free := expression.AttributeNotExists(pk).Or(expression.Name(table.ExpiresAt).LessThan(expression.Value(now.Unix())))
	expr, _ := expression.NewBuilder().WithCondition(free).Build()
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      it,
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	if err == nil {
		return nil, nil
	}
	if !conditionFailed(err) {
		return nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: idempotencyKey(caller, key), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("read idempotency key: %w", err)
	}
	if out.Item == nil {
		// Released between the two calls: the caller may try again.
		return &Key{State: KeyInProgress, RequestHash: requestHash, ClaimedAt: now}, nil
	}
	var k keyItem
	if err := attributevalue.UnmarshalMap(out.Item, &k); err != nil {
		return nil, fmt.Errorf("read idempotency key: %w", err)
	}
	return &k.Key, nil
}

// Complete remembers the render that the request that claimed the key
// started, for its repeats.
func (s *Store) Complete(ctx context.Context, caller, key, renderID string) error {
	return s.setKey(ctx, caller, key, expression.Set(expression.Name("state"), expression.Value(KeyDone)).
		Set(expression.Name("renderId"), expression.Value(renderID)))
}

// MarkUnknown remembers that the start may have happened: the key will
// never start another render.
func (s *Store) MarkUnknown(ctx context.Context, caller, key, renderID string) error {
	return s.setKey(ctx, caller, key, expression.Set(expression.Name("state"), expression.Value(KeyOutcomeUnknown)).
		Set(expression.Name("renderId"), expression.Value(renderID)))
}

func (s *Store) setKey(ctx context.Context, caller, key string, update expression.UpdateBuilder) error {
	expr, _ := expression.NewBuilder().WithUpdate(update).Build()
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       idempotencyKey(caller, key),
		UpdateExpression:          expr.Update(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	if err != nil {
		return fmt.Errorf("settle idempotency key: %w", err)
	}
	return nil
}

// Release forgets the key: the request that claimed it started nothing, so
// a retry with it may start the render.
func (s *Store) Release(ctx context.Context, caller, key string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: idempotencyKey(caller, key)})
	if err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

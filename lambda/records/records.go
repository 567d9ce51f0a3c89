// Package records keeps the render table in DynamoDB: a record of every
// render started (who, what, when, how it ended) and the idempotency keys
// that make a start safe to retry. Its types are its own: what the API
// shows of them is the API's business.
package records

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"remotion-lambda-iam/lambda/env"
	"remotion-lambda-iam/lambda/records/table"
)

// ErrNotFound is returned for a render the table has no record of.
var ErrNotFound = errors.New("no record of the render")

// ErrBadCursor is returned for a cursor this store did not hand out.
var ErrBadCursor = errors.New("the cursor is not one this API returned")

// KeyTTL is how long an idempotency key is remembered.
const KeyTTL = 24 * time.Hour

// staleClaim is how long a request can hold a claim (an idempotency key,
// the right to publish an event): a claim older than the function's own
// timeout belongs to a request that died.
const staleClaim = env.FunctionTimeout

// State is where a render stands.
type State string

const (
	// Queued: the render waits its turn in line.
	Queued State = "queued"
	// Starting: the start is being sent.
	Starting State = "starting"
	// Rendering: Remotion launched the render.
	Rendering State = "rendering"
	// Unknown: the start was sent and its answer proved nothing; the render
	// may be running. A completion webhook can still finish it.
	Unknown State = "unknown"
	Done    State = "done"
	Failed  State = "failed"
	// Cancelled: the render left the line before it started.
	Cancelled State = "cancelled"
)

// Final reports whether a render in state s is over.
func (s State) Final() bool { return s == Done || s == Failed || s == Cancelled }

// Render is the record of a render.
type Render struct {
	// RenderID is the API's ID of the render. Records written before the
	// API had IDs of its own carry Remotion's.
	RenderID string `dynamodbav:"renderId"`
	// RemotionRenderID and BucketName are Remotion's, once it answered.
	RemotionRenderID string            `dynamodbav:"remotionRenderId,omitempty"`
	BucketName       string            `dynamodbav:"bucketName,omitempty"`
	Composition      string            `dynamodbav:"composition"`
	ServeURL         string            `dynamodbav:"serveUrl"`
	OutputBucket     string            `dynamodbav:"outputBucket,omitempty"`
	OutputKey        string            `dynamodbav:"outputKey,omitempty"`
	Metadata         map[string]string `dynamodbav:"metadata"`
	RequestedBy      string            `dynamodbav:"requestedBy"`
	RequestID        string            `dynamodbav:"requestId"`
	CreatedAt        time.Time         `dynamodbav:"-"`
	State            State             `dynamodbav:"state"`
	FinishedAt       *time.Time        `dynamodbav:"finishedAt,omitempty"`
	OutputFile       string            `dynamodbav:"outputFile,omitempty"`
	TimeToFinishMs   *int64            `dynamodbav:"timeToFinishMs,omitempty"`
	Errors           []string          `dynamodbav:"renderErrors"`
	Costs            *Costs            `dynamodbav:"costs,omitempty"`
	// TimedOut: the render failed by running out of time.
	TimedOut bool `dynamodbav:"timedOut,omitempty"`
	// EventPublished: the outcome's event went out.
	EventPublished bool `dynamodbav:"-"`

	// A render that waits in line keeps what its start needs:
	// Footprint is the Lambda executions it uses at once, Start its options
	// as JSON (render.Options), and WebhookURL where Remotion is to say how
	// it went.
	Footprint int `dynamodbav:"footprint,omitempty"`
	// Estimate is what the ledger took the render to cost until it is over,
	// an exact decimal; empty where the deployment keeps no ledger.
	Estimate   string `dynamodbav:"estimate,omitempty"`
	Start      string `dynamodbav:"start,omitempty"`
	WebhookURL string `dynamodbav:"webhookUrl,omitempty"`
}

// Costs is Remotion's estimate of what a render cost.
type Costs struct {
	// EstimatedCost is an exact decimal.
	EstimatedCost attributevalue.Number `dynamodbav:"estimatedCost"`
	DisplayCost   string                `dynamodbav:"displayCost"`
	Currency      string                `dynamodbav:"currency"`
}

// renderItem is a render's item: the record and the table's keys.
type renderItem struct {
	PK        string `dynamodbav:"pk"`
	Kind      string `dynamodbav:"kind"`
	CreatedAt string `dynamodbav:"createdAt"`
	ExpiresAt int64  `dynamodbav:"expiresAt"`
	Event     string `dynamodbav:"eventState,omitempty"`
	Render
}

// Store reads and writes the render table. It is safe for concurrent use.
type Store struct {
	db    *dynamodb.Client
	table string
	keep  time.Duration // how long a render's record is kept
	now   func() time.Time

	lineReady atomic.Bool // the line's item exists
}

// New makes a Store for the table, keeping render records for keep.
func New(db *dynamodb.Client, tableName string, keep time.Duration) *Store {
	return &Store{db: db, table: tableName, keep: keep, now: time.Now}
}

// createdAtLayout sorts as text in time order: fixed width, UTC.
const createdAtLayout = "2006-01-02T15:04:05.000000000Z"

func renderKey(renderID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{table.PartitionKey: &types.AttributeValueMemberS{Value: "render#" + renderID}}
}

var (
	pk    = expression.Name(table.PartitionKey)
	state = expression.Name("state")
)

// Create records a render whose start is about to be sent.
func (s *Store) Create(ctx context.Context, r Render) error {
	it, err := attributevalue.MarshalMap(renderItem{
		PK:        "render#" + r.RenderID,
		Kind:      "render",
		CreatedAt: r.CreatedAt.UTC().Format(createdAtLayout),
		ExpiresAt: r.CreatedAt.Add(s.keep).Unix(),
		Render:    r,
	})
	if err != nil {
		return fmt.Errorf("record render %s: %w", r.RenderID, err)
	}
	expr, _ := expression.NewBuilder().WithCondition(expression.AttributeNotExists(pk)).Build()
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     it,
		ConditionExpression:      expr.Condition(),
		ExpressionAttributeNames: expr.Names(),
	})
	if err != nil {
		return fmt.Errorf("record render %s: %w", r.RenderID, err)
	}
	return nil
}

// Get reads a render's record, or returns ErrNotFound.
func (s *Store) Get(ctx context.Context, renderID string) (*Render, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            renderKey(renderID),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("read the record of render %s: %w", renderID, err)
	}
	if out.Item == nil {
		return nil, ErrNotFound
	}
	r, err := decodeRender(out.Item)
	if err != nil {
		return nil, fmt.Errorf("read the record of render %s: %w", renderID, err)
	}
	return r, nil
}

// Started records what Remotion named a render it launched: one being
// started, or one the sweeper took for lost meanwhile. A render that has
// moved on since (a webhook came first) keeps its state.
func (s *Store) Started(ctx context.Context, renderID, remotionRenderID, bucket string) error {
	update := expression.Set(state, expression.Value(Rendering)).
		Set(expression.Name("remotionRenderId"), expression.Value(remotionRenderID)).
		Set(expression.Name("bucketName"), expression.Value(bucket))
	err := s.update(ctx, renderID, update, expression.In(state, expression.Value(Starting), expression.Value(Unknown)))
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("record the start of render %s: %w", renderID, err)
	}
	return nil
}

// Launching moves a render from the line to starting: reports false when
// it was not queued (cancelled, or started by another request).
func (s *Store) Launching(ctx context.Context, renderID string) (bool, error) {
	err := s.update(ctx, renderID, expression.Set(state, expression.Value(Starting)), expression.Equal(state, expression.Value(Queued)))
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record the launch of render %s: %w", renderID, err)
	}
	return true, nil
}

// Requeued moves a render whose start was refused for capacity back to the
// line.
func (s *Store) Requeued(ctx context.Context, renderID string) error {
	err := s.update(ctx, renderID, expression.Set(state, expression.Value(Queued)), expression.Equal(state, expression.Value(Starting)))
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("record render %s as queued again: %w", renderID, err)
	}
	return nil
}

// Cancel moves a render that waits in line to cancelled, once, and returns
// the record as it now is; nil when it was not queued.
func (s *Store) Cancel(ctx context.Context, renderID string, at time.Time) (*Render, error) {
	update := expression.Set(state, expression.Value(Cancelled)).
		Set(expression.Name("finishedAt"), expression.Value(at.UTC().Format(time.RFC3339Nano)))
	out, err := s.updateReturning(ctx, renderID, update, expression.Equal(state, expression.Value(Queued)), types.ReturnValueAllNew)
	if conditionFailed(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cancel render %s: %w", renderID, err)
	}
	return decodeRender(out.Attributes)
}

// Unknown records that a render's start was sent and its answer proved
// nothing: the render may be running.
func (s *Store) Unknown(ctx context.Context, renderID string) error {
	err := s.update(ctx, renderID, expression.Set(state, expression.Value(Unknown)), expression.Equal(state, expression.Value(Starting)))
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("record the unknown outcome of render %s: %w", renderID, err)
	}
	return nil
}

// Forget deletes the record of a render that never ran: its start proved
// it, or it never joined the line.
func (s *Store) Forget(ctx context.Context, renderID string) error {
	expr, _ := expression.NewBuilder().WithCondition(expression.In(state, expression.Value(Starting), expression.Value(Queued))).Build()
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.table),
		Key:                       renderKey(renderID),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("forget render %s: %w", renderID, err)
	}
	return nil
}

// Outcome is how a render ended.
type Outcome struct {
	State      State // Done or Failed
	FinishedAt time.Time
	// RemotionRenderID and BucketName, when known, fill in a render whose
	// start's answer was lost.
	RemotionRenderID, BucketName string
	OutputFile                   string
	TimeToFinishMs               *int64
	Errors                       []string
	Costs                        *Costs
	// TimedOut: the render failed by running out of time.
	TimedOut bool
}

// Finish moves a render's record to its final state, once, and returns
// the record as it now is. A record that is already final is left as it
// is, and Finish returns nil.
func (s *Store) Finish(ctx context.Context, renderID string, o Outcome) (*Render, error) {
	update := expression.Set(state, expression.Value(o.State)).
		Set(expression.Name("finishedAt"), expression.Value(o.FinishedAt.UTC().Format(time.RFC3339Nano)))
	set := func(name string, v any) { update = update.Set(expression.Name(name), expression.Value(v)) }
	if o.RemotionRenderID != "" {
		set("remotionRenderId", o.RemotionRenderID)
		set("bucketName", o.BucketName)
	}
	if o.OutputFile != "" {
		set("outputFile", o.OutputFile)
	}
	if o.TimeToFinishMs != nil {
		set("timeToFinishMs", *o.TimeToFinishMs)
	}
	if o.Errors != nil {
		set("renderErrors", o.Errors)
	}
	if o.Costs != nil {
		set("costs", o.Costs)
	}
	if o.TimedOut {
		set("timedOut", true)
	}
	// A queued render can end too: one that can never start, or whose
	// start was refused, fails without being launched.
	active := expression.In(state, expression.Value(Queued), expression.Value(Starting), expression.Value(Rendering), expression.Value(Unknown))
	out, err := s.updateReturning(ctx, renderID, update, expression.AttributeExists(pk).And(active), types.ReturnValueAllNew)
	if conditionFailed(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("finish the record of render %s: %w", renderID, err)
	}
	r, err := decodeRender(out.Attributes)
	if err != nil {
		return nil, fmt.Errorf("finish the record of render %s: %w", renderID, err)
	}
	return r, nil
}

// update applies an update to a render's item under a condition.
func (s *Store) update(ctx context.Context, renderID string, update expression.UpdateBuilder, cond expression.ConditionBuilder) error {
	_, err := s.updateReturning(ctx, renderID, update, cond, types.ReturnValueNone)
	return err
}

// updateReturning is update, returning the item as returnValues says.
func (s *Store) updateReturning(ctx context.Context, renderID string, update expression.UpdateBuilder, cond expression.ConditionBuilder,
	returnValues types.ReturnValue) (*dynamodb.UpdateItemOutput, error) {
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(cond).Build()
	if err != nil {
		return nil, err
	}
	return s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       renderKey(renderID),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnValues:              returnValues,
	})
}

// List returns up to limit renders, newest first: those requestedBy
// started, or everyone's when requestedBy is empty. cursor continues an
// earlier page; the returned cursor, when not empty, continues this one.
func (s *Store) List(ctx context.Context, requestedBy string, limit int, cursor string) ([]Render, string, error) {
	partition, partitionValue, index := table.Kind, "render", table.ByTime
	if requestedBy != "" {
		partition, partitionValue, index = table.RequestedBy, requestedBy, table.ByCaller
	}
	expr, _ := expression.NewBuilder().WithKeyCondition(expression.Key(partition).Equal(expression.Value(partitionValue))).Build()
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(index),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		Limit:                     aws.Int32(int32(limit)),
		ScanIndexForward:          aws.Bool(false),
	}
	if cursor != "" {
		start, err := decodeCursor(cursor)
		// A cursor of another caller's list, or of the other index, does not
		// continue this one.
		if err != nil || start[partition] != partitionValue {
			return nil, "", ErrBadCursor
		}
		if in.ExclusiveStartKey, err = attributevalue.MarshalMap(start); err != nil {
			return nil, "", ErrBadCursor
		}
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("list renders: %w", err)
	}
	renders := make([]Render, 0, len(out.Items))
	for _, it := range out.Items {
		r, err := decodeRender(it)
		if err != nil {
			return nil, "", fmt.Errorf("list renders: %w", err)
		}
		renders = append(renders, *r)
	}
	next := ""
	if out.LastEvaluatedKey != nil {
		if next, err = encodeCursor(out.LastEvaluatedKey); err != nil {
			return nil, "", fmt.Errorf("list renders: %w", err)
		}
	}
	return renders, next, nil
}

// A cursor is the query's LastEvaluatedKey, whose values are all strings
// (the table's and the index's keys), as base64url JSON.
func encodeCursor(key map[string]types.AttributeValue) (string, error) {
	var plain map[string]string
	if err := attributevalue.UnmarshalMap(key, &plain); err != nil {
		return "", err
	}
	b, err := json.Marshal(plain)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func decodeCursor(cursor string) (map[string]string, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, ErrBadCursor
	}
	var key map[string]string
	if err := json.Unmarshal(b, &key); err != nil || len(key) == 0 {
		return nil, ErrBadCursor
	}
	for k := range key {
		switch k {
		case table.PartitionKey, table.RequestedBy, table.Kind, table.CreatedAt:
		default:
			return nil, ErrBadCursor
		}
	}
	return key, nil
}

func decodeRender(it map[string]types.AttributeValue) (*Render, error) {
	var item renderItem
	if err := attributevalue.UnmarshalMap(it, &item); err != nil {
		return nil, err
	}
	r := item.Render
	r.CreatedAt, _ = time.Parse(createdAtLayout, item.CreatedAt)
	r.EventPublished = item.Event == eventPublished
	if r.Metadata == nil {
		r.Metadata = map[string]string{}
	}
	if r.Errors == nil {
		r.Errors = []string{}
	}
	return &r, nil
}

// conditionFailed reports whether a write was refused by its condition.
func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// callerHash keeps a caller's identity, which may be long, out of the key
// while keeping every caller's keys apart.
func callerHash(caller string) string {
	sum := sha256.Sum256([]byte(caller))
	return hex.EncodeToString(sum[:16])
}

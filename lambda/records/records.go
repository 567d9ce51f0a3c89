// Package records keeps the render table in DynamoDB: a record of every
// render started (who, what, when, how it ended) and the idempotency keys
// that make a start safe to retry.
package records

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"remotion-lambda-iam/lambda/api/wire"
	"remotion-lambda-iam/lambda/awsjson"
	"remotion-lambda-iam/lambda/records/table"
)

// ErrNotFound is returned for a render the table has no record of.
var ErrNotFound = errors.New("no record of the render")

// ErrBadCursor is returned for a cursor this store did not hand out.
var ErrBadCursor = errors.New("the cursor is not one this API returned")

// KeyTTL is how long an idempotency key is remembered.
const KeyTTL = 24 * time.Hour

// Store reads and writes the render table. It is safe for concurrent use.
type Store struct {
	db    *awsjson.Client // of DynamoDB
	table string
	keep  time.Duration // how long a render's record is kept
	now   func() time.Time
}

// New makes a Store for the table, keeping render records for keep. db is
// a client of DynamoDB.
func New(db *awsjson.Client, tableName string, keep time.Duration) *Store {
	return &Store{db: db, table: tableName, keep: keep, now: time.Now}
}

// createdAtLayout sorts as text in time order: fixed width, UTC.
const createdAtLayout = "2006-01-02T15:04:05.000000000Z"

func renderKey(renderID string) item {
	return item{table.PartitionKey: str("render#" + renderID)}
}

// Create records a render that has just started.
func (s *Store) Create(ctx context.Context, r wire.Render) error {
	it := renderKey(r.RenderID)
	maps.Copy(it, item{
		table.Kind:        str("render"),
		table.RequestedBy: str(r.RequestedBy),
		table.CreatedAt:   str(r.CreatedAt.UTC().Format(createdAtLayout)),
		table.ExpiresAt:   integer(r.CreatedAt.Add(s.keep).Unix()),
		"renderId":        str(r.RenderID),
		"bucketName":      str(r.BucketName),
		"composition":     str(r.Composition),
		"serveUrl":        str(r.ServeURL),
		"requestId":       str(r.RequestID),
		"state":           str(string(r.State)),
	})
	if r.Output != nil {
		it["outputBucket"], it["outputKey"] = str(r.Output.Bucket), str(r.Output.Key)
	}
	err := s.db.Call(ctx, "PutItem", putItemInput{
		TableName:                s.table,
		Item:                     it,
		ConditionExpression:      "attribute_not_exists(#pk)",
		ExpressionAttributeNames: map[string]string{"#pk": table.PartitionKey},
	}, nil)
	if err != nil {
		return fmt.Errorf("record render %s: %w", r.RenderID, err)
	}
	return nil
}

// Get reads a render's record, or returns ErrNotFound.
func (s *Store) Get(ctx context.Context, renderID string) (*wire.Render, error) {
	var out getItemOutput
	err := s.db.Call(ctx, "GetItem", keyInput{TableName: s.table, Key: renderKey(renderID), ConsistentRead: true}, &out)
	if err != nil {
		return nil, fmt.Errorf("read the record of render %s: %w", renderID, err)
	}
	if out.Item == nil {
		return nil, ErrNotFound
	}
	r := decodeRender(out.Item)
	return &r, nil
}

// Outcome is how a render ended.
type Outcome struct {
	State      wire.State // StateDone or StateFailed
	FinishedAt time.Time
	OutputFile *string
	Errors     []string
	Costs      *wire.Costs
}

// Finish moves a render's record to its final state, once: a record that is
// already final is left as it is, and Finish reports false.
func (s *Store) Finish(ctx context.Context, renderID string, o Outcome) (bool, error) {
	names := map[string]string{"#state": "state", "#pk": table.PartitionKey}
	values := item{
		":final":     str(string(o.State)),
		":rendering": str(string(wire.StateRendering)),
		":finished":  str(o.FinishedAt.UTC().Format(time.RFC3339Nano)),
	}
	update := "SET #state = :final, finishedAt = :finished"
	if o.OutputFile != nil {
		update += ", outputFile = :file"
		values[":file"] = str(*o.OutputFile)
	}
	if len(o.Errors) > 0 {
		update += ", renderErrors = :errors"
		list := make([]value, len(o.Errors))
		for i, e := range o.Errors {
			list[i] = str(e)
		}
		values[":errors"] = value{L: list}
	}
	if o.Costs != nil {
		update += ", costs = :costs"
		values[":costs"] = value{M: item{
			"accruedSoFar": number(o.Costs.AccruedSoFar),
			"displayCost":  str(o.Costs.DisplayCost),
			"currency":     str(o.Costs.Currency),
		}}
	}
	err := s.db.Call(ctx, "UpdateItem", updateItemInput{
		TableName:                 s.table,
		Key:                       renderKey(renderID),
		UpdateExpression:          update,
		ConditionExpression:       "attribute_exists(#pk) AND #state = :rendering",
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}, nil)
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("finish the record of render %s: %w", renderID, err)
	}
	return true, nil
}

// List returns up to limit renders, newest first: those requestedBy
// started, or everyone's when requestedBy is empty. cursor continues an
// earlier page; the returned cursor, when not empty, continues this one.
func (s *Store) List(ctx context.Context, requestedBy string, limit int, cursor string) ([]wire.Render, string, error) {
	partition, partitionValue, index := table.Kind, "render", table.ByTime
	if requestedBy != "" {
		partition, partitionValue, index = table.RequestedBy, requestedBy, table.ByCaller
	}
	in := queryInput{
		TableName:                 s.table,
		IndexName:                 index,
		KeyConditionExpression:    "#p = :p",
		ExpressionAttributeNames:  map[string]string{"#p": partition},
		ExpressionAttributeValues: item{":p": str(partitionValue)},
		Limit:                     limit,
		ScanIndexForward:          false,
	}
	if cursor != "" {
		start, err := decodeCursor(cursor)
		// A cursor of another caller's list, or of the other index, does not
		// continue this one.
		if err != nil || stringOf(start, partition) != partitionValue {
			return nil, "", ErrBadCursor
		}
		in.ExclusiveStartKey = start
	}
	var out queryOutput
	if err := s.db.Call(ctx, "Query", in, &out); err != nil {
		return nil, "", fmt.Errorf("list renders: %w", err)
	}
	renders := make([]wire.Render, 0, len(out.Items))
	for _, it := range out.Items {
		renders = append(renders, decodeRender(it))
	}
	next := ""
	if out.LastEvaluatedKey != nil {
		next = encodeCursor(out.LastEvaluatedKey)
	}
	return renders, next, nil
}

// A cursor is the query's LastEvaluatedKey, whose values are all strings
// (the table's and the index's keys), as base64url JSON.
func encodeCursor(key item) string {
	plain := map[string]string{}
	for k, v := range key {
		if v.S != nil {
			plain[k] = *v.S
		}
	}
	b, _ := json.Marshal(plain)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(cursor string) (item, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, ErrBadCursor
	}
	var plain map[string]string
	if err := json.Unmarshal(b, &plain); err != nil || len(plain) == 0 {
		return nil, ErrBadCursor
	}
	key := make(item, len(plain))
	for k, v := range plain {
		switch k {
		case table.PartitionKey, table.RequestedBy, table.Kind, table.CreatedAt:
			key[k] = str(v)
		default:
			return nil, ErrBadCursor
		}
	}
	return key, nil
}

func decodeRender(it item) wire.Render {
	r := wire.Render{
		RenderID:    stringOf(it, "renderId"),
		BucketName:  stringOf(it, "bucketName"),
		Composition: stringOf(it, "composition"),
		ServeURL:    stringOf(it, "serveUrl"),
		RequestedBy: stringOf(it, table.RequestedBy),
		RequestID:   stringOf(it, "requestId"),
		State:       wire.State(stringOf(it, "state")),
	}
	r.CreatedAt, _ = time.Parse(createdAtLayout, stringOf(it, table.CreatedAt))
	if bucket, key := stringOf(it, "outputBucket"), stringOf(it, "outputKey"); bucket != "" {
		r.Output = &wire.Output{Bucket: bucket, Key: key, S3URI: "s3://" + bucket + "/" + key}
	}
	if t, err := time.Parse(time.RFC3339Nano, stringOf(it, "finishedAt")); err == nil {
		r.FinishedAt = &t
	}
	if f := it["outputFile"].S; f != nil {
		r.OutputFile = f
		if r.Output != nil {
			r.Output.URL = *f
		}
	}
	for _, e := range it["renderErrors"].L {
		if e.S != nil {
			r.Errors = append(r.Errors, *e.S)
		}
	}
	if m := item(it["costs"].M); m != nil {
		r.Costs = &wire.Costs{DisplayCost: stringOf(m, "displayCost"), Currency: stringOf(m, "currency")}
		if n := m["accruedSoFar"].N; n != nil {
			r.Costs.AccruedSoFar, _ = strconv.ParseFloat(*n, 64)
		}
	}
	return r
}

// callerHash keeps a caller's identity, which may be long, out of the key
// while keeping every caller's keys apart.
func callerHash(caller string) string {
	sum := sha256.Sum256([]byte(caller))
	return hex.EncodeToString(sum[:16])
}

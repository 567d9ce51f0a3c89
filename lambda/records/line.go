package records

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"remotion-lambda-iam/lambda/records/table"
)

// The line is where renders wait their turn, and what the renders that
// started hold of the deployment's budget, in ONE item: each change to it
// (join, admit, give back, cancel) is one conditional write, so that the
// capacity in use is always the sum of what is held, a render is admitted
// once, and only from the head of the line. No transaction is needed.
//
// The item's size grows with the line and the renders in flight, about 100
// bytes each; DynamoDB bills a write by the item's size, 1 KB a unit, and
// caps an item at 400 KB, which is why the line is bounded.

// ErrLineFull is returned when a render cannot join the line: it is as long
// as the deployment allows, or the caller has as many renders in it as the
// deployment allows one caller.
var ErrLineFull = errors.New("the line is full")

// Entry is a render waiting in line.
type Entry struct {
	RenderID string `dynamodbav:"id"`
	// Footprint is the Lambda executions the render uses at once: its
	// renderers and its main function.
	Footprint int `dynamodbav:"f"`
	// Caller is a hash of who asked, to bound each caller's renders.
	Caller   string `dynamodbav:"c"`
	JoinedAt int64  `dynamodbav:"at"` // Unix milliseconds
	// Counted: the entry is in its caller's count, which a bound on each
	// caller's renders needs.
	Counted bool `dynamodbav:"n,omitempty"`
}

// Hold is what a render that was admitted holds of the budget, and the
// entry it was in line, to return it there.
type Hold struct {
	Footprint int    `dynamodbav:"f"`
	Caller    string `dynamodbav:"c"`
	JoinedAt  int64  `dynamodbav:"at"`
	Counted   bool   `dynamodbav:"n,omitempty"`
	Since     int64  `dynamodbav:"since"` // Unix milliseconds
}

// Entry is the line's entry of the render that holds h.
func (h Hold) Entry(renderID string) Entry {
	return Entry{RenderID: renderID, Footprint: h.Footprint, Caller: h.Caller, JoinedAt: h.JoinedAt, Counted: h.Counted}
}

// Line is the line and the capacity in use.
type Line struct {
	Queue []Entry `dynamodbav:"queue"`
	// Holds are the renders admitted and not yet over, by render ID.
	Holds map[string]Hold `dynamodbav:"holds"`
	// InUse is the sum of the holds' footprints.
	InUse int `dynamodbav:"inUse"`
	// PerCaller counts each caller's entries in the line, where the
	// deployment bounds them; the sweeper takes out the callers at 0.
	PerCaller map[string]int `dynamodbav:"perCaller"`
	// PausedUntil, in Unix milliseconds, holds the line after Lambda
	// throttled a start: nothing is admitted before then.
	PausedUntil int64 `dynamodbav:"pausedUntil"`
}

// Position is a render's place in line, from 1, or 0 when it is not in it.
func (l *Line) Position(renderID string) int {
	for i, e := range l.Queue {
		if e.RenderID == renderID {
			return i + 1
		}
	}
	return 0
}

// Paused reports whether the line admits nothing at now.
func (l *Line) Paused(now time.Time) bool { return now.UnixMilli() < l.PausedUntil }

var lineKey = map[string]types.AttributeValue{table.PartitionKey: &types.AttributeValueMemberS{Value: "line"}}

var (
	queue       = expression.Name("queue")
	inUse       = expression.Name("inUse")
	pausedUntil = expression.Name("pausedUntil")
)

func holdOf(renderID string) expression.NameBuilder { return expression.Name("holds." + renderID) }
func countOf(caller string) expression.NameBuilder  { return expression.Name("perCaller." + caller) }

// uncount takes an entry that leaves the line out of its caller's count.
func uncount(update expression.UpdateBuilder, e Entry) expression.UpdateBuilder {
	if !e.Counted {
		return update
	}
	return update.Set(countOf(e.Caller), countOf(e.Caller).Minus(expression.Value(1)))
}

// count puts an entry that joins the line in its caller's count.
func count(update expression.UpdateBuilder, e Entry) expression.UpdateBuilder {
	if !e.Counted {
		return update
	}
	c := countOf(e.Caller)
	return update.Set(c, expression.Plus(expression.IfNotExists(c, expression.Value(0)), expression.Value(1)))
}

// ensureLine writes the empty line, once a process, so that updates can
// reach into its maps.
func (s *Store) ensureLine(ctx context.Context) error {
	if s.lineReady.Load() {
		return nil
	}
	it, err := attributevalue.MarshalMap(struct {
		PK string `dynamodbav:"pk"`
		Line
	}{PK: "line", Line: Line{Queue: []Entry{}, Holds: map[string]Hold{}, PerCaller: map[string]int{}}})
	if err != nil {
		return err
	}
	expr, _ := expression.NewBuilder().WithCondition(expression.AttributeNotExists(pk)).Build()
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     it,
		ConditionExpression:      expr.Condition(),
		ExpressionAttributeNames: expr.Names(),
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("create the line: %w", err)
	}
	s.lineReady.Store(true)
	return nil
}

// ReadLine reads the line.
func (s *Store) ReadLine(ctx context.Context) (*Line, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: lineKey, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("read the line: %w", err)
	}
	var l Line
	if err := attributevalue.UnmarshalMap(out.Item, &l); err != nil {
		return nil, fmt.Errorf("read the line: %w", err)
	}
	return &l, nil
}

// updateLine applies an update to the line under a condition, and returns
// the line as it now is. It reports false, with no error, when the
// condition refused the update.
func (s *Store) updateLine(ctx context.Context, update expression.UpdateBuilder, cond *expression.ConditionBuilder) (*Line, bool, error) {
	b := expression.NewBuilder().WithUpdate(update)
	if cond != nil {
		b = b.WithCondition(*cond)
	}
	expr, err := b.Build()
	if err != nil {
		return nil, false, err
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       lineKey,
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnValues:              types.ReturnValueAllNew,
	})
	if conditionFailed(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var l Line
	if err := attributevalue.UnmarshalMap(out.Attributes, &l); err != nil {
		return nil, false, err
	}
	return &l, true, nil
}

// Join puts a render at the end of the line, unless the line holds max
// renders, or, with maxPerCaller above 0, the caller holds that many of
// them. It returns the render's position.
func (s *Store) Join(ctx context.Context, e Entry, max, maxPerCaller int) (int, error) {
	if err := s.ensureLine(ctx); err != nil {
		return 0, err
	}
	e.Caller, e.Counted = callerHash(e.Caller), maxPerCaller > 0
	update := count(expression.Set(queue, expression.ListAppend(queue, expression.Value([]Entry{e}))), e)
	cond := queue.Size().LessThan(expression.Value(max))
	if maxPerCaller > 0 {
		c := countOf(e.Caller)
		cond = cond.And(expression.AttributeNotExists(c).Or(c.LessThan(expression.Value(maxPerCaller))))
	}
	l, ok, err := s.updateLine(ctx, update, &cond)
	if err != nil {
		return 0, fmt.Errorf("join the line: %w", err)
	}
	if !ok {
		return 0, ErrLineFull
	}
	return l.Position(e.RenderID), nil
}

// Admit takes the render at the head of the line, e, out of it and has it
// hold its footprint, if the capacity in use leaves room for it within
// budget and the line is not paused. It reports false when it did not: the
// head is another render (another request admitted e first), there is no
// room, or the line is paused.
func (s *Store) Admit(ctx context.Context, e Entry, budget int, now time.Time) (bool, error) {
	update := uncount(expression.Remove(expression.Name("queue[0]")).
		Set(holdOf(e.RenderID), expression.Value(Hold{Footprint: e.Footprint, Caller: e.Caller, JoinedAt: e.JoinedAt, Counted: e.Counted, Since: now.UnixMilli()})).
		Set(inUse, inUse.Plus(expression.Value(e.Footprint))), e)
	cond := expression.Name("queue[0].id").Equal(expression.Value(e.RenderID)).
		And(inUse.LessThanEqual(expression.Value(budget - e.Footprint))).
		And(pausedUntil.LessThanEqual(expression.Value(now.UnixMilli())))
	_, ok, err := s.updateLine(ctx, update, &cond)
	if err != nil {
		return false, fmt.Errorf("admit render %s: %w", e.RenderID, err)
	}
	return ok, nil
}

// Drop takes the render at the head of the line, e, out of it without
// admitting it: it can never start.
func (s *Store) Drop(ctx context.Context, e Entry) (bool, error) {
	update := uncount(expression.Remove(expression.Name("queue[0]")), e)
	cond := expression.Name("queue[0].id").Equal(expression.Value(e.RenderID))
	_, ok, err := s.updateLine(ctx, update, &cond)
	if err != nil {
		return false, fmt.Errorf("drop render %s from the line: %w", e.RenderID, err)
	}
	return ok, nil
}

// Return puts a render that was admitted back at the head of the line, and
// gives back what it held: its start was refused for capacity (Lambda
// throttled it) or never sent. With pause, the line admits nothing until
// then.
func (s *Store) Return(ctx context.Context, e Entry, pause time.Time) (bool, error) {
	update := count(expression.Set(queue, expression.ListAppend(expression.Value([]Entry{e}), queue)).
		Set(inUse, inUse.Minus(expression.Name("holds."+e.RenderID+".f"))).
		Remove(holdOf(e.RenderID)), e)
	if !pause.IsZero() {
		update = update.Set(pausedUntil, expression.Value(pause.UnixMilli()))
	}
	cond := expression.AttributeExists(holdOf(e.RenderID))
	_, ok, err := s.updateLine(ctx, update, &cond)
	if err != nil {
		return false, fmt.Errorf("return render %s to the line: %w", e.RenderID, err)
	}
	return ok, nil
}

// GiveBack gives back what a render held, once: it reports false when the
// render held nothing (it was released before, or never admitted).
func (s *Store) GiveBack(ctx context.Context, renderID string) (bool, error) {
	update := expression.Set(inUse, inUse.Minus(expression.Name("holds."+renderID+".f"))).
		Remove(holdOf(renderID))
	cond := expression.AttributeExists(holdOf(renderID))
	_, ok, err := s.updateLine(ctx, update, &cond)
	if err != nil {
		return false, fmt.Errorf("release render %s: %w", renderID, err)
	}
	return ok, nil
}

// Leave takes a render out of the line, wherever it waits in it: it reports
// false when the render is not in the line (it was admitted first).
func (s *Store) Leave(ctx context.Context, renderID string) (bool, error) {
	// The render's index changes as the line moves: read it, and remove
	// it at that index only if it is still there.
	for range 5 {
		l, err := s.ReadLine(ctx)
		if err != nil {
			return false, err
		}
		at := l.Position(renderID) - 1
		if at < 0 {
			return false, nil
		}
		e := l.Queue[at]
		item := fmt.Sprintf("queue[%d]", at)
		update := uncount(expression.Remove(expression.Name(item)), e)
		cond := expression.Name(item + ".id").Equal(expression.Value(renderID))
		if _, ok, err := s.updateLine(ctx, update, &cond); err != nil || ok {
			if err != nil {
				return false, fmt.Errorf("take render %s out of the line: %w", renderID, err)
			}
			return true, nil
		}
	}
	return false, fmt.Errorf("take render %s out of the line: the line kept moving", renderID)
}

// ForgetIdleCallers takes out of the counts the callers that have nothing in line, so
// that the line's item does not grow with every caller there ever was.
func (s *Store) ForgetIdleCallers(ctx context.Context, l *Line) error {
	for caller, n := range l.PerCaller {
		if n != 0 {
			continue
		}
		c := countOf(caller)
		cond := c.Equal(expression.Value(0))
		if _, _, err := s.updateLine(ctx, expression.Remove(c), &cond); err != nil {
			return fmt.Errorf("forget an idle caller: %w", err)
		}
	}
	return nil
}

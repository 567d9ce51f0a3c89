package records

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"remotion-lambda-iam/lambda/records/table"
)

// The ledger keeps what renders cost, in exact decimals (DynamoDB's
// numbers), on two kinds of item: a caller's day and the deployment's
// month. Each holds what finished renders cost (Spent) and what the renders
// started and not yet over are estimated to cost (Committed), and their sum
// (Exposure), which a limit is checked against in the same conditional
// write that commits a new render's estimate: concurrent starts cannot
// together slip past a limit. A render is counted on the UTC day and month
// it was started.

// ErrOverLimit is returned when a render's estimate would take a spend past
// its limit.
var ErrOverLimit = errors.New("the spend limit would be passed")

// Spend is a caller's day, or the deployment's month.
type Spend struct {
	// Period is the day (2006-01-02) or the month (2006-01), UTC.
	Period    string                `dynamodbav:"period"`
	Caller    string                `dynamodbav:"caller,omitempty"` // empty for the deployment
	Spent     attributevalue.Number `dynamodbav:"spent"`
	Committed attributevalue.Number `dynamodbav:"committed"`
	Exposure  attributevalue.Number `dynamodbav:"exposure"`
	Renders   int                   `dynamodbav:"renders"` // finished
	Currency  string                `dynamodbav:"currency,omitempty"`
}

// Day and Month name the periods a render started at at is counted in.
func Day(at time.Time) string   { return at.UTC().Format(time.DateOnly) }
func Month(at time.Time) string { return at.UTC().Format("2006-01") }

func dayKey(caller, day string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{table.PartitionKey: &types.AttributeValueMemberS{Value: "spend#" + callerHash(caller) + "#" + day}}
}

func monthKey(month string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{table.PartitionKey: &types.AttributeValueMemberS{Value: "spend#deployment#" + month}}
}

var (
	spent     = expression.Name("spent")
	committed = expression.Name("committed")
	exposure  = expression.Name("exposure")
)

// Commit adds a new render's estimate to the caller's day and the
// deployment's month, unless that would take either past its limit (nil:
// none); the Spend returned with ErrOverLimit is the one that would be
// passed.
func (s *Store) Commit(ctx context.Context, caller string, at time.Time, estimate, daily, monthly *big.Rat) (*Spend, error) {
	day := Spend{Period: Day(at), Caller: caller}
	if over, err := s.commit(ctx, dayKey(caller, day.Period), day, estimate, daily); err != nil || over != nil {
		if over != nil {
			err = ErrOverLimit
		}
		return over, err
	}
	month := Spend{Period: Month(at)}
	over, err := s.commit(ctx, monthKey(month.Period), month, estimate, monthly)
	if err != nil || over != nil {
		// The day took the estimate: it gives it back.
		back := new(big.Rat).Neg(estimate)
		if undo := s.adjust(ctx, dayKey(caller, day.Period), nil, back, back, 0, ""); undo != nil {
			err = errors.Join(err, undo)
		}
	}
	if over != nil {
		err = errors.Join(ErrOverLimit, err)
	}
	return over, err
}

// commit adds estimate to a period's spend under its limit.
func (s *Store) commit(ctx context.Context, key map[string]types.AttributeValue, period Spend, estimate, limit *big.Rat) (*Spend, error) {
	est := decimal(estimate)
	update := expression.Add(committed, expression.Value(est)).
		Add(exposure, expression.Value(est)).
		Set(expression.Name("period"), expression.Value(period.Period))
	if period.Caller != "" {
		// A caller's days are listed by the indexes: theirs by caller,
		// everyone's by time, apart from their renders.
		update = update.Set(expression.Name("caller"), expression.Value(period.Caller)).
			Set(expression.Name(table.RequestedBy), expression.Value(spendOf(period.Caller))).
			Set(expression.Name(table.Kind), expression.Value(spendKind)).
			Set(expression.Name(table.CreatedAt), expression.Value(period.Period))
	}
	b := expression.NewBuilder().WithUpdate(update)
	if limit != nil {
		if limit.Cmp(estimate) < 0 {
			return &period, nil
		}
		room := decimal(new(big.Rat).Sub(limit, estimate))
		b = b.WithCondition(expression.AttributeNotExists(exposure).Or(exposure.LessThanEqual(expression.Value(room))))
	}
	expr, err := b.Build()
	if err != nil {
		return nil, err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key,
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	if conditionFailed(err) {
		over, err := s.readSpend(ctx, key)
		if err != nil || over == nil {
			return &period, err
		}
		return over, nil
	}
	if err != nil {
		return nil, fmt.Errorf("commit a render's estimate: %w", err)
	}
	return nil, nil
}

// Settle replaces a render's estimate with what it cost, once it is over,
// in the caller's day and the deployment's month of its start; cost nil
// means it cost nothing: it never ran.
func (s *Store) Settle(ctx context.Context, caller string, startedAt time.Time, estimate, cost *big.Rat, currency string) error {
	finished := 1
	if cost == nil {
		cost, finished = new(big.Rat), 0
	}
	back := new(big.Rat).Neg(estimate)
	delta := new(big.Rat).Add(cost, back)
	for _, key := range []map[string]types.AttributeValue{dayKey(caller, Day(startedAt)), monthKey(Month(startedAt))} {
		if err := s.adjust(ctx, key, cost, back, delta, finished, currency); err != nil {
			return fmt.Errorf("settle a render's cost: %w", err)
		}
	}
	return nil
}

// adjust adds to a period's spend: cost (nil: none) to what was spent,
// the two deltas to what is committed and to the exposure.
func (s *Store) adjust(ctx context.Context, key map[string]types.AttributeValue, cost, committedDelta, exposureDelta *big.Rat, finished int, currency string) error {
	update := expression.Add(committed, expression.Value(decimal(committedDelta))).
		Add(exposure, expression.Value(decimal(exposureDelta)))
	if cost != nil {
		update = update.Add(spent, expression.Value(decimal(cost))).Add(expression.Name("renders"), expression.Value(finished))
	}
	if currency != "" {
		update = update.Set(expression.Name("currency"), expression.Value(currency))
	}
	expr, err := expression.NewBuilder().WithUpdate(update).Build()
	if err != nil {
		return err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key,
		UpdateExpression:          expr.Update(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	return err
}

// ReadMonth reads the deployment's spend in month.
func (s *Store) ReadMonth(ctx context.Context, month string) (*Spend, error) {
	sp, err := s.readSpend(ctx, monthKey(month))
	if sp == nil && err == nil {
		sp = &Spend{Period: month}
	}
	return sp, err
}

func (s *Store) readSpend(ctx context.Context, key map[string]types.AttributeValue) (*Spend, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("read a spend: %w", err)
	}
	if out.Item == nil {
		return nil, nil
	}
	var sp Spend
	if err := attributevalue.UnmarshalMap(out.Item, &sp); err != nil {
		return nil, fmt.Errorf("read a spend: %w", err)
	}
	return &sp, nil
}

// spendKind and spendOf keep callers' days apart from renders in the
// indexes, which list both.
const spendKind = "spend"

func spendOf(caller string) string { return "spend#" + caller }

// Days returns a caller's spend on each day from from to to (UTC dates,
// both included) that has any, oldest first: everyone's when caller is
// empty.
func (s *Store) Days(ctx context.Context, caller, from, to string) ([]Spend, error) {
	partition, value, index := table.Kind, spendKind, table.ByTime
	if caller != "" {
		partition, value, index = table.RequestedBy, spendOf(caller), table.ByCaller
	}
	expr, _ := expression.NewBuilder().WithKeyCondition(expression.Key(partition).Equal(expression.Value(value)).
		And(expression.Key(table.CreatedAt).Between(expression.Value(from), expression.Value(to)))).Build()
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(index),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	var days []Spend
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read the spend: %w", err)
		}
		var page []Spend
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &page); err != nil {
			return nil, fmt.Errorf("read the spend: %w", err)
		}
		days = append(days, page...)
	}
	return days, nil
}

// decimal writes an exact amount as DynamoDB takes a number: 12 decimal
// places are finer than any estimate Remotion makes.
func decimal(r *big.Rat) attributevalue.Number {
	return attributevalue.Number(r.FloatString(12))
}

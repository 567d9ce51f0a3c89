package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"remotion-lambda-iam/contract/metrics"
	"remotion-lambda-iam/lambda/logs"
	"remotion-lambda-iam/lambda/records"
)

// Spend is what renders may cost: the limits, and what a render is taken
// to cost until Remotion says what it did.
type Spend struct {
	// Daily bounds one caller's renders started on one UTC day; Monthly all
	// renders started in one UTC month. Nil means no limit.
	Daily, Monthly *big.Rat
	// Estimate is what a render is taken to cost while it waits or runs.
	Estimate *big.Rat
}

// ErrSpendLimit: a start that could take a spend past its limit.
var ErrSpendLimit = errors.New("the spend limit would be passed")

// SpendLimitError says which limit a start would pass.
type SpendLimitError struct {
	Period          string // "day" (the caller's) or "month" (the deployment's)
	Limit, Exposure *big.Rat
	ResetsAt        time.Time
}

func (e *SpendLimitError) Error() string {
	return fmt.Sprintf("this %s's spend, %s USD with the renders still running, leaves no room for another render under its limit of %s USD, until %s",
		e.Period, e.Exposure.FloatString(4), e.Limit.FloatString(2), e.ResetsAt.Format(time.RFC3339))
}
func (e *SpendLimitError) Unwrap() error { return ErrSpendLimit }

// commitEstimate takes a new render's estimate into the ledger, unless it
// could take the caller's day or the deployment's month past its limit.
// Nothing has been sent when it refuses.
func (s *Service) commitEstimate(ctx context.Context, r *records.Render) error {
	sp := s.cfg.Spend
	if sp == nil {
		return nil
	}
	over, err := s.cfg.Records.Commit(ctx, r.RequestedBy, r.CreatedAt, sp.Estimate, sp.Daily, sp.Monthly)
	if errors.Is(err, records.ErrOverLimit) {
		e := &SpendLimitError{Period: "day", Limit: sp.Daily, Exposure: rat(over.Exposure)}
		day := r.CreatedAt.UTC().Truncate(24 * time.Hour)
		e.ResetsAt = day.AddDate(0, 0, 1)
		if over.Caller == "" {
			e.Period, e.Limit = "month", sp.Monthly
			e.ResetsAt = time.Date(day.Year(), day.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		}
		return e
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRecordsUnavailable, err)
	}
	r.Estimate = sp.Estimate.FloatString(12)
	return nil
}

// settleCost replaces a finished render's estimate with what it cost, and
// writes the render's metrics. A render Remotion put no cost on, that may
// have run, is taken to have cost its estimate: a limit would rather count
// too much than too little.
func (s *Service) settleCost(ctx context.Context, r *records.Render) {
	var cost *big.Rat
	currency := ""
	switch {
	case r.Costs != nil:
		cost, currency = rat(r.Costs.EstimatedCost), r.Costs.Currency
		if cost.Sign() == 0 {
			cost = nil // it never ran
		}
	case r.State != records.Cancelled && r.Estimate != "":
		cost = rat(attributevalue.Number(r.Estimate))
	}
	if r.Estimate != "" && s.cfg.Spend != nil {
		if err := s.cfg.Records.Settle(ctx, r.RequestedBy, r.CreatedAt, rat(attributevalue.Number(r.Estimate)), cost, currency); err != nil {
			s.log.LogAttrs(ctx, slog.LevelError, "cost not settled in the ledger", slog.String("renderId", r.RenderID), slog.String("error", err.Error()))
		}
	}
	dims := []logs.Dimension{{Name: metrics.DimensionOutcome, Value: string(r.State)}}
	if r.RequestedBy != anonymous {
		dims = append(dims, logs.Dimension{Name: metrics.DimensionCaller, Value: r.RequestedBy})
	}
	ms := []logs.Metric{{Name: metrics.Renders, Unit: "Count", Value: 1}}
	if cost != nil {
		f, _ := cost.Float64()
		ms = append(ms, logs.Metric{Name: metrics.RenderCost, Unit: "None", Value: f})
	}
	if r.FinishedAt != nil {
		ms = append(ms, logs.Metric{Name: metrics.RenderDuration, Unit: "Milliseconds", Value: float64(r.FinishedAt.Sub(r.CreatedAt).Milliseconds())})
	}
	logs.WriteBy(ctx, s.log, dims, ms...)
}

// uncommit gives back the estimate of a render that never ran and has no
// record any more.
func (s *Service) uncommit(ctx context.Context, r *records.Render) {
	if r.Estimate == "" || s.cfg.Spend == nil {
		return
	}
	if err := s.cfg.Records.Settle(ctx, r.RequestedBy, r.CreatedAt, rat(attributevalue.Number(r.Estimate)), nil, ""); err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "estimate not given back", slog.String("renderId", r.RenderID), slog.String("error", err.Error()))
	}
}

// anonymous is who calls a deployment without authorization.
const anonymous = "anonymous"

// rat reads an exact decimal; an empty or unreadable one is zero.
func rat(n attributevalue.Number) *big.Rat {
	r, ok := new(big.Rat).SetString(string(n))
	if !ok {
		return new(big.Rat)
	}
	return r
}

// DayCosts is what a caller's renders started on a day cost.
type DayCosts = records.Spend

// Costs reads what renders started from from to to cost, per caller and
// day: the caller's, or everyone's when caller is empty.
func (s *Service) Costs(ctx context.Context, caller, from, to string) ([]DayCosts, error) {
	work, cancel := s.work(ctx)
	defer cancel()
	days, err := s.cfg.Records.Days(work, caller, from, to)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRecordsUnavailable, err)
	}
	return days, nil
}

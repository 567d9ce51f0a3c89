package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"remotion-lambda-iam/contract/metrics"
	"remotion-lambda-iam/lambda/budget"
	"remotion-lambda-iam/lambda/env"
	"remotion-lambda-iam/lambda/logs"
	"remotion-lambda-iam/lambda/records"
	"remotion-lambda-iam/lambda/remotion"
	"remotion-lambda-iam/lambda/remotion/render"
)

// Queue is how renders wait their turn: a render is admitted when the
// Lambda capacity it needs fits the deployment's budget, in the order the
// renders came, and gives the capacity back when its outcome is known.
type Queue struct {
	// Budget is the Lambda executions the deployment's renders may use at
	// once.
	Budget *budget.Source
	// DefaultConcurrency, when above 0, is sent as Remotion's concurrency
	// for a render whose request sets neither concurrency nor
	// framesPerLambda; at 0 Remotion picks, and the render counts as the
	// most it can use.
	DefaultConcurrency int
	// MaxQueued bounds the line; MaxQueuedPerCaller, above 0, each caller's
	// renders in it.
	MaxQueued, MaxQueuedPerCaller int
	// RenderTimeout is how long a render can run: the render function's
	// timeout. A render that holds capacity longer, by WebhookGrace, is
	// asked about.
	RenderTimeout time.Duration
	// WebhookGrace is how long after a render's end its webhook may still
	// come; 0 means DefaultWebhookGrace.
	WebhookGrace time.Duration
	// Lease is how long a request may take from admitting a render to
	// recording that its start was sent: a render held longer without that
	// belongs to a request that died. 0 means env.FunctionTimeout.
	Lease time.Duration
}

// DefaultWebhookGrace covers Remotion's three deliveries of a webhook, 10 s
// each at most, and the seconds between them.
const DefaultWebhookGrace = time.Minute

func (q *Queue) lease() time.Duration {
	if q.Lease > 0 {
		return q.Lease
	}
	return env.FunctionTimeout
}

func (q *Queue) grace() time.Duration {
	if q.WebhookGrace > 0 {
		return q.WebhookGrace
	}
	return DefaultWebhookGrace
}

// Errors of the queue a caller is told about.
var (
	// ErrLineFull: the line, or the caller's part of it, is full.
	ErrLineFull = records.ErrLineFull
	// ErrOverBudget: the render needs more than the whole budget.
	ErrOverBudget = errors.New("the render needs more Lambda executions at once than the deployment's budget")
	// ErrPropsTooLarge: the render's options are too large to wait in line.
	ErrPropsTooLarge = errors.New("the render's inputProps are too large to wait in line")
	// ErrStarted: the render cannot be cancelled: it started.
	ErrStarted = errors.New("the render started")
	// ErrFinished: the render is over.
	ErrFinished = errors.New("the render is over")
	// ErrBudgetUnavailable: the account's Lambda concurrency could not be
	// read.
	ErrBudgetUnavailable = errors.New("the account's Lambda concurrency could not be read (lambda:GetAccountSettings)")
)

// BudgetError is a render over the deployment's whole budget.
type BudgetError struct{ Footprint, Budget int }

func (e *BudgetError) Error() string {
	return fmt.Sprintf("the render needs %d Lambda executions at once (its concurrency and its main function), and the deployment's budget is %d", e.Footprint, e.Budget)
}
func (e *BudgetError) Unwrap() error { return ErrOverBudget }

// Limits of the line.
const (
	// maxQueuedStart bounds what a render keeps while it waits: its record
	// is one DynamoDB item, at most 400 KB.
	maxQueuedStart = 350_000
	// throttlePause is how long the line waits after Lambda throttled a
	// start: Lambda's concurrency frees up as functions end.
	throttlePause = 5 * time.Second
	// maxLaunches bounds the starts one request sends for others: the
	// sweeper sends the rest.
	maxLaunches = 10
)

// footprint is the Lambda executions a render uses at once: its renderers
// and its main function. A render whose concurrency is not set, and that
// the deployment's default does not set either, counts as the most
// Remotion uses.
func (q *Queue) footprint(o *render.Options) int {
	switch {
	case o.Concurrency != nil:
		return *o.Concurrency + 1
	case o.FramesPerLambda == nil && q.DefaultConcurrency > 0:
		c := q.DefaultConcurrency
		o.Concurrency = &c
		return c + 1
	default:
		return render.MaxConcurrency + 1
	}
}

// startQueued records the render and puts it in line, then lets the line
// move: the render starts at once if it is at the head and fits.
func (s *Service) startQueued(ctx context.Context, req StartRequest) (*records.Render, int, error) {
	if err := req.Options.Validate(); err != nil {
		return nil, 0, err
	}
	q := s.cfg.Queue
	opts := *req.Options
	f := q.footprint(&opts)
	work, cancel := s.work(ctx)
	defer cancel()
	if b, err := q.Budget.Executions(work); err == nil && f > b {
		return nil, 0, &BudgetError{Footprint: f, Budget: b}
	}
	start, err := json.Marshal(opts)
	if err != nil || len(start) > maxQueuedStart {
		return nil, 0, ErrPropsTooLarge
	}
	store := s.cfg.Records
	r := newRecord(req, newRenderID(), s.now())
	r.State, r.Footprint, r.Start, r.WebhookURL = records.Queued, f, string(start), req.WebhookURL
	if err := s.commitEstimate(work, &r); err != nil {
		return nil, 0, err
	}
	if err := store.Create(work, r); err != nil {
		done, cancel := settle(ctx)
		defer cancel()
		s.uncommit(done, &r)
		return nil, 0, fmt.Errorf("%w: %w", ErrRecordsUnavailable, err)
	}
	position, err := store.Join(work, records.Entry{RenderID: r.RenderID, Footprint: f, Caller: req.Caller, JoinedAt: r.CreatedAt.UnixMilli()}, q.MaxQueued, q.MaxQueuedPerCaller)
	if err != nil {
		done, cancel := settle(ctx)
		defer cancel()
		s.forget(done, r.RenderID)
		s.uncommit(done, &r)
		if errors.Is(err, records.ErrLineFull) {
			return nil, 0, err
		}
		return nil, 0, fmt.Errorf("%w: %w", ErrRecordsUnavailable, err)
	}
	logs.Write(ctx, s.log, logs.Metric{Name: metrics.QueueDepth, Unit: "Count", Value: float64(position)})
	own, position := s.dispatch(ctx, r.RenderID)
	if own == nil {
		return &r, position, nil // it waits its turn
	}
	if own.err != nil {
		return nil, 0, own.err
	}
	if own.render.State == records.Queued { // back in line
		return own.render, s.Position(ctx, r.RenderID), nil
	}
	return own.render, 0, nil
}

// launched is what became of a render the line admitted.
type launched struct {
	render    *records.Render
	err       error
	throttled bool
}

// dispatch starts the renders at the head of the line that fit the
// budget, in order, each once. It returns what became of own, if it was
// among them, or its position in line.
func (s *Service) dispatch(ctx context.Context, own string) (*launched, int) {
	q, store := s.cfg.Queue, s.cfg.Records
	work, cancel := s.work(ctx)
	defer cancel()
	var ownLaunch *launched
	position := 0
	for range maxLaunches {
		line, err := store.ReadLine(work)
		if err != nil {
			s.log.LogAttrs(ctx, slog.LevelError, "line not read", slog.String("error", err.Error()))
			break
		}
		position = line.Position(own)
		if len(line.Queue) == 0 || line.Paused(s.now()) {
			break
		}
		head := line.Queue[0]
		b, err := q.Budget.Executions(work)
		if err != nil {
			s.log.LogAttrs(ctx, slog.LevelError, "budget not read", slog.String("error", err.Error()))
			break
		}
		if head.Footprint > b {
			s.neverFits(ctx, head, b)
			continue
		}
		if line.InUse+head.Footprint > b {
			break
		}
		admitted, err := store.Admit(work, head, b, s.now())
		if err != nil {
			s.log.LogAttrs(ctx, slog.LevelError, "render not admitted", slog.String("renderId", head.RenderID), slog.String("error", err.Error()))
			break
		}
		if !admitted {
			// Another request admitted it, and moves the line on; or
			// what is in use changed. Racing it for the next head
			// would only cost writes of the line's item.
			break
		}
		logs.Write(ctx, s.log,
			logs.Metric{Name: metrics.WaitTime, Unit: "Milliseconds", Value: float64(s.now().UnixMilli() - head.JoinedAt)},
			logs.Metric{Name: metrics.CapacityInUse, Unit: "Count", Value: float64(line.InUse + head.Footprint)},
			logs.Metric{Name: metrics.QueueDepth, Unit: "Count", Value: float64(len(line.Queue) - 1)})
		l := s.launch(ctx, head)
		if head.RenderID == own {
			ownLaunch, position = &l, 0
		}
		if l.throttled {
			break
		}
	}
	return ownLaunch, position
}

// launchHook, when set by a test, runs after a render was admitted and
// before its start is sent: where a crash is the most costly.
var launchHook func(renderID string)

// launch sends the start of a render the line admitted, once.
func (s *Service) launch(ctx context.Context, e records.Entry) launched {
	if launchHook != nil {
		launchHook(e.RenderID)
	}
	store := s.cfg.Records
	work, cancel := s.work(ctx)
	defer cancel()
	done, cancelDone := settle(ctx)
	defer cancelDone()
	rec, err := store.Get(work, e.RenderID)
	if errors.Is(err, records.ErrNotFound) {
		s.giveBack(done, e.RenderID) // its record was never written
		return launched{err: ErrNotFound}
	}
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "admitted render not read: back in line", slog.String("renderId", e.RenderID), slog.String("error", err.Error()))
		s.returnToLine(done, e, time.Time{})
		return launched{render: &records.Render{RenderID: e.RenderID, State: records.Queued}}
	}
	if ok, err := store.Launching(work, e.RenderID); !ok || err != nil {
		if err != nil {
			s.log.LogAttrs(ctx, slog.LevelError, "admitted render not launched: back in line", slog.String("renderId", e.RenderID), slog.String("error", err.Error()))
			s.returnToLine(done, e, time.Time{})
			return launched{render: rec}
		}
		s.giveBack(done, e.RenderID) // cancelled meanwhile
		return launched{err: ErrFinished}
	}
	var opts render.Options
	if err := json.Unmarshal([]byte(rec.Start), &opts); err != nil {
		return s.refused(done, rec, fmt.Errorf("the render's stored options cannot be read: %w", err))
	}
	if rec.OutputBucket != "" {
		opts.OutName = &render.OutName{Key: rec.OutputKey, BucketName: rec.OutputBucket}
	}
	if rec.WebhookURL != "" && s.cfg.WebhookSecret != nil {
		hook, err := s.webhook(ctx, rec.WebhookURL, rec.RenderID)
		if err != nil {
			s.log.LogAttrs(ctx, slog.LevelError, "webhook secret not read: the render is back in line", slog.String("renderId", rec.RenderID), slog.String("error", err.Error()))
			store.Requeued(done, rec.RenderID)
			s.returnToLine(done, e, time.Time{})
			rec.State = records.Queued
			return launched{render: rec, throttled: true} // the line waits for the sweeper
		}
		opts.Webhook = hook
	}
	res, err := s.remotion.StartRenderOrThrottled(work, &opts)
	var rerr *remotion.Error
	switch {
	case err == nil:
		if err := store.Started(done, rec.RenderID, res.RenderID, res.BucketName); err != nil {
			s.log.LogAttrs(ctx, slog.LevelError, "render started but its start not recorded", slog.String("renderId", rec.RenderID), slog.String("error", err.Error()))
		}
		rec.State, rec.RemotionRenderID, rec.BucketName = records.Rendering, res.RenderID, res.BucketName
		return launched{render: rec}
	case errors.As(err, &rerr) && rerr.Kind == remotion.KindThrottled:
		// Lambda refused it for capacity: nothing ran. It goes back to the
		// head of the line, which waits a little.
		logs.Write(ctx, s.log, logs.Metric{Name: metrics.Throttles, Unit: "Count", Value: 1})
		store.Requeued(done, rec.RenderID)
		s.returnToLine(done, e, s.now().Add(throttlePause))
		rec.State = records.Queued
		return launched{render: rec, throttled: true}
	case remotion.OutcomeUnknown(err):
		// It may be running: it keeps what it holds until its outcome is
		// known, from its webhook or the sweeper.
		if err := store.Unknown(done, rec.RenderID); err != nil {
			s.log.LogAttrs(ctx, slog.LevelError, "unknown outcome not recorded", slog.String("renderId", rec.RenderID), slog.String("error", err.Error()))
		}
		return launched{err: &RenderError{RenderID: rec.RenderID, Err: fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)}}
	default:
		return s.refused(done, rec, err)
	}
}

// refused ends a render whose start proved that nothing ran: it failed,
// at no cost, and gives back what it held.
func (s *Service) refused(ctx context.Context, rec *records.Render, cause error) launched {
	message := cause.Error()
	var rerr *remotion.Error
	if errors.As(cause, &rerr) {
		message = rerr.Message
	}
	s.end(ctx, rec.RenderID, records.Outcome{State: records.Failed, FinishedAt: s.now(), Errors: appendError(nil, message), Costs: nothingRan()})
	return launched{err: cause}
}

// neverFits ends a render at the head of the line that needs more than
// the whole budget: it would hold the line forever.
func (s *Service) neverFits(ctx context.Context, e records.Entry, b int) {
	done, cancel := settle(ctx)
	defer cancel()
	if ok, err := s.cfg.Records.Drop(done, e); !ok || err != nil {
		return
	}
	s.end(done, e.RenderID, records.Outcome{State: records.Failed, FinishedAt: s.now(), Costs: nothingRan(),
		Errors: []string{(&BudgetError{Footprint: e.Footprint, Budget: b}).Error() + ": it was taken out of the line"}})
}

// nothingRan is the cost of a render that never ran.
func nothingRan() *records.Costs {
	return &records.Costs{EstimatedCost: "0", DisplayCost: "$0.00", Currency: "USD"}
}

// end finishes a render's record, publishes its event and gives back what
// it held, without letting the line move: the caller moves it.
func (s *Service) end(ctx context.Context, renderID string, o records.Outcome) {
	if s.finish(ctx, renderID, o) == nil {
		return
	}
	s.giveBack(ctx, renderID)
}

// giveBack gives back what a render held of the budget.
func (s *Service) giveBack(ctx context.Context, renderID string) {
	if s.cfg.Queue == nil {
		return
	}
	if _, err := s.cfg.Records.GiveBack(ctx, renderID); err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "capacity not given back", slog.String("renderId", renderID), slog.String("error", err.Error()))
	}
}

func (s *Service) returnToLine(ctx context.Context, e records.Entry, pause time.Time) {
	if _, err := s.cfg.Records.Return(ctx, e, pause); err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "render not returned to the line", slog.String("renderId", e.RenderID), slog.String("error", err.Error()))
	}
}

// ended lets the line move after a render's outcome was learned: what it
// held is given back, and the renders that now fit start.
func (s *Service) ended(ctx context.Context, renderID string) {
	if s.cfg.Queue == nil {
		return
	}
	s.giveBack(ctx, renderID)
	s.dispatch(ctx, "")
}

// Cancel takes one of the caller's renders out of the line, at no cost. A
// render that started cannot be cancelled.
func (s *Service) Cancel(ctx context.Context, renderID string, who Reader) (*records.Render, error) {
	work, cancel := s.work(ctx)
	defer cancel()
	rec, err := s.cfg.Records.Get(work, renderID)
	switch {
	case errors.Is(err, records.ErrNotFound) || err == nil && !who.Operator && rec.RequestedBy != who.Caller:
		return nil, ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrRecordsUnavailable, err)
	case rec.State == records.Cancelled:
		return rec, nil
	case rec.State.Final():
		return rec, ErrFinished
	case rec.State != records.Queued:
		return rec, ErrStarted
	}
	left, err := s.cfg.Records.Leave(work, renderID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRecordsUnavailable, err)
	}
	if !left {
		return rec, ErrStarted // admitted meanwhile
	}
	done, cancelDone := settle(ctx)
	defer cancelDone()
	cancelled, err := s.cfg.Records.Cancel(done, renderID, s.now())
	if err != nil || cancelled == nil {
		return rec, fmt.Errorf("%w: the render left the line but its record was not cancelled: %v", ErrRecordsUnavailable, err)
	}
	s.settleCost(done, cancelled)
	s.publish(done, cancelled)
	s.dispatch(ctx, "") // the render it held back may have been at the head
	return cancelled, nil
}

// QueueState is the budget, the capacity in use and the line.
type QueueState struct {
	Budget, InUse, Queued, InFlight int
	OldestWait                      time.Duration
	PausedUntil                     time.Time
}

// QueueState reads the budget, the capacity in use and the line.
func (s *Service) QueueState(ctx context.Context) (*QueueState, error) {
	work, cancel := s.work(ctx)
	defer cancel()
	line, err := s.cfg.Records.ReadLine(work)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRecordsUnavailable, err)
	}
	b, err := s.cfg.Queue.Budget.Executions(work)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBudgetUnavailable, err)
	}
	q := &QueueState{Budget: b, InUse: line.InUse, Queued: len(line.Queue), InFlight: len(line.Holds)}
	if len(line.Queue) > 0 {
		q.OldestWait = s.now().Sub(time.UnixMilli(line.Queue[0].JoinedAt))
	}
	if line.Paused(s.now()) {
		q.PausedUntil = time.UnixMilli(line.PausedUntil)
	}
	return q, nil
}

// Position is a queued render's place in line, from 1; 0 when it is not in
// it.
func (s *Service) Position(ctx context.Context, renderID string) int {
	if s.cfg.Queue == nil {
		return 0
	}
	work, cancel := s.work(ctx)
	defer cancel()
	line, err := s.cfg.Records.ReadLine(work)
	if err != nil {
		return 0
	}
	return line.Position(renderID)
}

// Sweep is run on a schedule: it learns the outcome of the renders that
// hold capacity longer than they should, from their records or from
// Remotion, gives back what the ended ones held, puts back in line those
// whose start was never sent, and lets the line move. It writes the
// queue's metrics.
func (s *Service) Sweep(ctx context.Context) error {
	if s.cfg.Queue == nil {
		return nil
	}
	work, cancel := s.work(ctx)
	defer cancel()
	line, err := s.cfg.Records.ReadLine(work)
	if err != nil {
		return err
	}
	now := s.now()
	for id, hold := range line.Holds {
		if work.Err() != nil {
			break
		}
		if held := now.Sub(time.UnixMilli(hold.Since)); held > s.cfg.Queue.lease() {
			s.resolve(ctx, id, hold, held)
		}
	}
	if err := s.cfg.Records.ForgetIdleCallers(work, line); err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "idle callers not forgotten", slog.String("error", err.Error()))
	}
	s.dispatch(ctx, "")
	if line, err = s.cfg.Records.ReadLine(work); err == nil {
		b, _ := s.cfg.Queue.Budget.Executions(work)
		logs.Write(ctx, s.log,
			logs.Metric{Name: metrics.QueueDepth, Unit: "Count", Value: float64(len(line.Queue))},
			logs.Metric{Name: metrics.CapacityInUse, Unit: "Count", Value: float64(line.InUse)},
			logs.Metric{Name: metrics.Budget, Unit: "Count", Value: float64(b)})
	}
	return nil
}

// resolve learns what became of a render that held capacity for held.
func (s *Service) resolve(ctx context.Context, renderID string, hold records.Hold, held time.Duration) {
	work, cancel := s.work(ctx)
	defer cancel()
	done, cancelDone := settle(ctx)
	defer cancelDone()
	rec, err := s.cfg.Records.Get(work, renderID)
	if errors.Is(err, records.ErrNotFound) {
		s.giveBack(done, renderID)
		return
	}
	if err != nil {
		return
	}
	// No render runs longer than the render function; its webhook comes
	// within a minute after, or not at all.
	over := held > s.cfg.Queue.RenderTimeout+s.cfg.Queue.grace()
	switch {
	case rec.State.Final():
		// It ended, and the request that learned it did not live to give
		// back what it held, or to publish.
		s.publish(done, rec)
		s.giveBack(done, renderID)
	case rec.State == records.Queued:
		// Admitted, and the request died before it sent anything.
		s.returnToLine(done, hold.Entry(renderID), time.Time{})
	case rec.State == records.Starting:
		// The request died as it sent the start: it may have been sent.
		s.cfg.Records.Unknown(done, renderID)
	case rec.State == records.Unknown && over:
		s.end(done, renderID, records.Outcome{State: records.Failed, FinishedAt: s.now(), Errors: []string{
			"the start was sent, its answer did not say whether the render was launched, and no webhook came: it is taken as failed, and any output is in the Remotion bucket"}})
	case rec.State == records.Rendering && over:
		p, err := s.remotion.RenderProgress(work, rec.BucketName, rec.RemotionRenderID)
		if err != nil {
			s.log.LogAttrs(ctx, slog.LevelError, "progress of a render in flight too long not read", slog.String("renderId", renderID), slog.String("error", err.Error()))
			return
		}
		if p.State() != remotion.StateRendering {
			s.end(done, renderID, outcomeOfProgress(p, s.now()))
		}
	}
}

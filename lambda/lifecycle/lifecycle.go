// Package lifecycle is the one place where a render changes state: it
// claims an idempotency key, takes the render's estimate into the cost
// ledger, admits the render when its Lambda capacity fits the budget, sends
// the start once, settles the key, and finishes the record once, with one
// event and its cost, whichever path learns the outcome first: a verified
// webhook, a poll or the sweeper. The API and the sweeper's schedule call
// it; it calls records, remotion, eventbus and budget.
package lifecycle

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"remotion-lambda-iam/lambda/env"
	"remotion-lambda-iam/lambda/eventbus"
	"remotion-lambda-iam/lambda/records"
	"remotion-lambda-iam/lambda/remotion"
	"remotion-lambda-iam/lambda/remotion/render"
	"remotion-lambda-iam/lambda/secret"
)

// Errors a caller is told about. Each is wrapped with what happened.
var (
	// ErrRecordsUnavailable: the render table could not be read or written.
	ErrRecordsUnavailable = errors.New("the render records are unavailable")
	// ErrSecretUnavailable: the webhook secret could not be read.
	ErrSecretUnavailable = errors.New("the webhook secret is unavailable")
	// ErrEventsUnavailable: EventBridge did not take an outcome's event.
	ErrEventsUnavailable = errors.New("the event bus is unavailable")
	// ErrNotFound: no render of that ID here.
	ErrNotFound = errors.New("no such render")
	// ErrKeyReused: the idempotency key came with another request before.
	ErrKeyReused = errors.New("the idempotency key came with another request")
	// ErrKeyInProgress: the first request with the key is still starting
	// its render.
	ErrKeyInProgress = errors.New("the first request with the idempotency key is still running")
	// ErrOutcomeUnknown: a start was sent and its answer proved nothing; it
	// is never sent again.
	ErrOutcomeUnknown = errors.New("the start's outcome is unknown")
)

// RenderError is a failure that concerns one render, which the caller can
// look up.
type RenderError struct {
	RenderID string
	Err      error
}

func (e *RenderError) Error() string { return "render " + e.RenderID + ": " + e.Err.Error() }
func (e *RenderError) Unwrap() error { return e.Err }

// Config is what a deployment keeps and tells.
type Config struct {
	// Records, when set, keeps a record of every render and the idempotency
	// keys; nil means the deployment keeps none (renderTracking=false).
	Records *records.Store
	// WebhookSecret, when set with Records, has every start ask Remotion
	// for a completion webhook signed with it.
	WebhookSecret *secret.Source
	// Events, when set, receives one event per outcome.
	Events *eventbus.Bus
	// Queue, when set with Records, has renders wait their turn for the
	// Lambda capacity they need; nil sends every start at once.
	Queue *Queue
	// Spend, when set with Records, keeps what renders cost, and refuses a
	// start that could pass a limit.
	Spend *Spend
	// DeadlineMargin is kept back from the function's deadline for the
	// calls that may be cut short (the start, a poll), so that a slow render
	// function gets an answer from us, and the writes that follow them have
	// time to finish.
	DeadlineMargin time.Duration
}

// DefaultDeadlineMargin is Config.DeadlineMargin's default.
const DefaultDeadlineMargin = 2 * time.Second

// settleMargin is kept back from the function's deadline for the writes
// that settle what a start or a webhook did: Lambda stops the function at
// its deadline, and a write cut short would leave a key in progress.
const settleMargin = 500 * time.Millisecond

// Service changes renders' states. Make one per process.
type Service struct {
	remotion *remotion.Client
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
}

// New makes a Service that starts and follows renders with client.
func New(client *remotion.Client, cfg Config, log *slog.Logger) *Service {
	if cfg.DeadlineMargin <= 0 {
		cfg.DeadlineMargin = DefaultDeadlineMargin
	}
	return &Service{remotion: client, cfg: cfg, log: log, now: time.Now}
}

// Tracking reports whether the deployment keeps render records.
func (s *Service) Tracking() bool { return s.cfg.Records != nil }

// Queueing reports whether renders wait their turn.
func (s *Service) Queueing() bool { return s.cfg.Records != nil && s.cfg.Queue != nil }

// Webhooks reports whether the deployment receives completion webhooks.
func (s *Service) Webhooks() bool { return s.cfg.Records != nil && s.cfg.WebhookSecret != nil }

// work bounds the calls that may be cut short by the function's deadline,
// less the margin.
func (s *Service) work(ctx context.Context) (context.Context, context.CancelFunc) {
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, deadline.Add(-s.cfg.DeadlineMargin))
	}
	return context.WithCancel(ctx)
}

// settle bounds the writes that record what was done: they run even when
// the request's own work ran out of time, up to just before the function's
// deadline, or env.FunctionTimeout without one.
func settle(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(env.FunctionTimeout)
	}
	return context.WithDeadline(context.WithoutCancel(ctx), deadline.Add(-settleMargin))
}

// StartRequest is a render to start.
type StartRequest struct {
	Caller    string // who asks: the IAM principal, or the JWT's issuer and subject
	RequestID string // API Gateway's ID of the request
	// IdempotencyKey, when not empty, makes the request safe to repeat;
	// RequestHash tells repeats from other requests with the same key.
	IdempotencyKey, RequestHash string
	Options                     *render.Options
	// WebhookURL is where Remotion is to send the outcome; empty for none.
	WebhookURL string
}

// Started is a render that started or waits its turn, or the one a
// repeated key started.
type Started struct {
	Render   records.Render
	Replayed bool
	// Position is the render's place in line, from 1, while it waits.
	Position int
}

// Start starts a render, once. With an idempotency key, the key is claimed
// before anything is sent, so that repeats start nothing more, and it is
// released only when the start proved that nothing ran.
func (s *Service) Start(ctx context.Context, req StartRequest) (*Started, error) {
	if s.cfg.Records == nil {
		return s.startUntracked(ctx, req)
	}
	store := s.cfg.Records
	if req.IdempotencyKey != "" {
		work, cancel := s.work(ctx)
		defer cancel()
		prior, err := store.Claim(work, req.Caller, req.IdempotencyKey, req.RequestHash)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRecordsUnavailable, err)
		}
		if prior != nil {
			return s.replay(work, prior, req.RequestHash)
		}
	}
	var rec *records.Render
	var position int
	var err error
	if s.cfg.Queue != nil {
		rec, position, err = s.startQueued(ctx, req)
	} else {
		rec, err = s.startTracked(ctx, req)
	}
	done, cancel := settle(ctx)
	defer cancel()
	if req.IdempotencyKey != "" {
		s.settleKey(done, req, rec, err)
	}
	if err != nil {
		return nil, err
	}
	return &Started{Render: *rec, Position: position}, nil
}

func (s *Service) startUntracked(ctx context.Context, req StartRequest) (*Started, error) {
	work, cancel := s.work(ctx)
	defer cancel()
	res, err := s.remotion.StartRender(work, req.Options)
	if err != nil {
		return nil, err
	}
	r := newRecord(req, res.RenderID, s.now())
	r.RemotionRenderID, r.BucketName, r.State = res.RenderID, res.BucketName, records.Rendering
	return &Started{Render: r}, nil
}

func newRecord(req StartRequest, renderID string, now time.Time) records.Render {
	r := records.Render{
		RenderID:    renderID,
		Composition: req.Options.Composition,
		ServeURL:    req.Options.ServeURL,
		Metadata:    req.Options.Metadata,
		RequestedBy: req.Caller,
		RequestID:   req.RequestID,
		CreatedAt:   now,
		State:       records.Starting,
		Errors:      []string{},
	}
	if o := req.Options.OutName; o != nil {
		r.OutputBucket, r.OutputKey = o.BucketName, o.Key
	}
	return r
}

// startTracked records the render, sends its start and records how that
// went. The record is written first, so that whatever the start's answer,
// the render can be found, and its webhook, which names it, finishes it.
func (s *Service) startTracked(ctx context.Context, req StartRequest) (*records.Render, error) {
	// A request Remotion would refuse costs no write.
	if err := req.Options.Validate(); err != nil {
		return nil, err
	}
	store := s.cfg.Records
	r := newRecord(req, newRenderID(), s.now())
	opts := *req.Options
	if req.WebhookURL != "" && s.cfg.WebhookSecret != nil {
		hook, err := s.webhook(ctx, req.WebhookURL, r.RenderID)
		if err != nil {
			return nil, err
		}
		opts.Webhook = hook
	}
	work, cancelWork := s.work(ctx)
	defer cancelWork()
	if err := s.commitEstimate(work, &r); err != nil {
		return nil, err
	}
	done, cancel := settle(ctx)
	defer cancel()
	if err := store.Create(work, r); err != nil {
		s.uncommit(done, &r)
		return nil, fmt.Errorf("%w: %w", ErrRecordsUnavailable, err)
	}
	res, err := s.remotion.StartRender(work, &opts)
	switch {
	case err == nil:
		r.State, r.RemotionRenderID, r.BucketName = records.Rendering, res.RenderID, res.BucketName
		if err := store.Started(done, r.RenderID, res.RenderID, res.BucketName); err != nil {
			// The render runs whatever happens here; its webhook will
			// still find the record.
			s.log.LogAttrs(ctx, slog.LevelError, "render started but its start not recorded", slog.String("renderId", r.RenderID), slog.String("error", err.Error()))
		}
		return &r, nil
	case remotion.OutcomeUnknown(err):
		if err := store.Unknown(done, r.RenderID); err != nil {
			s.log.LogAttrs(ctx, slog.LevelError, "unknown outcome not recorded", slog.String("renderId", r.RenderID), slog.String("error", err.Error()))
		}
		return &r, &RenderError{RenderID: r.RenderID, Err: fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)}
	default:
		s.forget(done, r.RenderID)
		s.uncommit(done, &r)
		return nil, err
	}
}

// forget deletes the record of a render whose start never ran.
func (s *Service) forget(ctx context.Context, renderID string) {
	if err := s.cfg.Records.Forget(ctx, renderID); err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "record of a render that never ran not deleted", slog.String("renderId", renderID), slog.String("error", err.Error()))
	}
}

// webhook is the webhook a start asks Remotion for. Its custom data names
// the render, so that the webhook finds it even when the start's answer was
// lost; Remotion signs it with the rest of the body.
func (s *Service) webhook(ctx context.Context, url, renderID string) (*render.Webhook, error) {
	work, cancel := s.work(ctx)
	defer cancel()
	value, err := s.cfg.WebhookSecret.Value(work)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSecretUnavailable, err)
	}
	custom, _ := json.Marshal(customData{RenderID: renderID})
	return &render.Webhook{URL: url, Secret: value, CustomData: custom}, nil
}

// customData is what a start gives Remotion to send back with its webhook.
type customData struct {
	RenderID string `json:"renderId"`
}

// settleKey records how the start for a claimed key ended. A start that
// certainly did not happen frees the key for a retry; one that may have
// happened keeps it, so that it never starts a second render.
func (s *Service) settleKey(ctx context.Context, req StartRequest, r *records.Render, startErr error) {
	store := s.cfg.Records
	var rend *RenderError
	var err error
	switch {
	case startErr == nil:
		err = store.Complete(ctx, req.Caller, req.IdempotencyKey, r.RenderID)
	case errors.As(startErr, &rend) && errors.Is(startErr, ErrOutcomeUnknown):
		err = store.MarkUnknown(ctx, req.Caller, req.IdempotencyKey, rend.RenderID)
	default:
		err = store.Release(ctx, req.Caller, req.IdempotencyKey)
	}
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "idempotency key not settled", slog.String("error", err.Error()))
	}
}

// replay answers a request whose idempotency key was claimed before.
func (s *Service) replay(ctx context.Context, k *records.Key, requestHash string) (*Started, error) {
	renderID := k.RenderID
	if renderID == "" && k.Response != "" {
		var first struct {
			RenderID string `json:"renderId"`
		}
		json.Unmarshal([]byte(k.Response), &first)
		renderID = first.RenderID
	}
	switch {
	case k.RequestHash != requestHash:
		return nil, ErrKeyReused
	case k.State == records.KeyDone:
		r, err := s.cfg.Records.Get(ctx, renderID)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRecordsUnavailable, err)
		}
		replayed := &Started{Render: *r, Replayed: true}
		if r.State == records.Queued {
			replayed.Position = s.Position(ctx, renderID)
		}
		return replayed, nil
	case k.State == records.KeyOutcomeUnknown || k.Stale(s.now()):
		return nil, &RenderError{RenderID: renderID, Err: ErrOutcomeUnknown}
	default:
		return nil, ErrKeyInProgress
	}
}

// newRenderID names a render: 26 lowercase letters and digits, random, so
// that an ID tells nothing of others and never equals one of Remotion's
// (10 characters).
func newRenderID() string {
	return strings.ToLower(rand.Text())
}

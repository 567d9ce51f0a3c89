package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"remotion-lambda-iam/contract/renderapi"
	"remotion-lambda-iam/contract/renderevent"
	"remotion-lambda-iam/lambda/records"
	"remotion-lambda-iam/lambda/remotion"
)

// Limits of the errors an outcome keeps: the record's item and the event
// have size limits (400 KB, 256 KB), and Remotion's errors can carry long
// stack traces.
const (
	maxErrors      = 20
	maxErrorLength = 1000
)

// ErrBadWebhook: a webhook that was verified but cannot be read.
var ErrBadWebhook = errors.New("the webhook cannot be read")

// ErrWebhookType: a webhook of a type that is none of Remotion's.
var ErrWebhookType = fmt.Errorf("%w: its type is none of success, error or timeout", ErrBadWebhook)

// Progress is where a render stands: its record, and what Remotion said of
// it when it was asked.
type Progress struct {
	// Record is the render's record; nil for a render without one.
	Record *records.Render
	// Live is Remotion's answer; nil when the record answered.
	Live *remotion.Progress
}

// Reader is who reads a render.
type Reader struct {
	// Caller is who asks, as records name who started a render.
	Caller string
	// Operator may read every caller's render, and one that has no record
	// here, given its bucket.
	Operator bool
}

// Progress reads where a render stands. A render with a record is read
// from it, and asked of Remotion only while it runs; one that is over is
// answered from its record, with no paid call. A render belongs to the
// caller who started it: anyone else but an operator is told it does not
// exist, as for an ID that does not, so that an answer never confirms
// another caller's render. A render without a record (bucket given) is
// asked of Remotion, for an operator, or anyone where the deployment keeps
// no records. A poll that sees a render end finishes its record, with its
// event.
func (s *Service) Progress(ctx context.Context, renderID, bucket string, who Reader) (*Progress, error) {
	work, cancel := s.work(ctx)
	defer cancel()
	done, cancelDone := settle(ctx)
	defer cancelDone()
	var rec *records.Render
	if s.cfg.Records != nil {
		r, err := s.cfg.Records.Get(work, renderID)
		switch {
		case err == nil && (who.Operator || r.RequestedBy == who.Caller):
			rec = r
		case err == nil:
			return nil, ErrNotFound
		case !errors.Is(err, records.ErrNotFound):
			return nil, fmt.Errorf("%w: %w", ErrRecordsUnavailable, err)
		case bucket == "" || !who.Operator:
			return nil, ErrNotFound
		}
	}
	if rec != nil {
		if rec.State.Final() {
			s.publish(done, rec) // an earlier publication failed: retried here
			return &Progress{Record: rec}, nil
		}
		if rec.RemotionRenderID == "" {
			// Starting, or a start whose answer was lost: nothing to ask.
			return &Progress{Record: rec}, nil
		}
		renderID, bucket = rec.RemotionRenderID, rec.BucketName
	}
	p, err := s.remotion.RenderProgress(work, bucket, renderID)
	if err != nil {
		return nil, err
	}
	if rec != nil && p.State() != remotion.StateRendering {
		if finished := s.finish(done, rec.RenderID, outcomeOfProgress(p, s.now())); finished != nil {
			rec = finished
			s.ended(done, rec.RenderID)
		}
	}
	return &Progress{Record: rec, Live: p}, nil
}

func outcomeOfProgress(p *remotion.Progress, now time.Time) records.Outcome {
	o := records.Outcome{State: records.Done, FinishedAt: now, TimeToFinishMs: p.TimeToFinish, Errors: []string{}, Costs: costsOf(p)}
	if p.OutputFile != nil {
		o.OutputFile = *p.OutputFile
	}
	if p.State() == remotion.StateFailed {
		o.State = records.Failed
		for _, e := range p.Errors {
			if e.IsFatal {
				o.Errors = appendError(o.Errors, e.Message)
			}
		}
	}
	return o
}

// costsOf is what Remotion's progress says a render cost.
func costsOf(p *remotion.Progress) *records.Costs {
	if p.Costs.AccruedSoFar == "" {
		return nil
	}
	return &records.Costs{EstimatedCost: attributevalue.Number(p.Costs.AccruedSoFar), DisplayCost: p.Costs.DisplayCost, Currency: p.Costs.Currency}
}

// finish moves a render to its outcome, once, and publishes its event. It
// returns the finished record, or nil when another path finished it first
// or the table could not be written (logged).
func (s *Service) finish(ctx context.Context, renderID string, o records.Outcome) *records.Render {
	r, err := s.cfg.Records.Finish(ctx, renderID, o)
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "record not finished", slog.String("renderId", renderID), slog.String("error", err.Error()))
		return nil
	}
	if r != nil {
		s.settleCost(ctx, r)
		s.publish(ctx, r)
	}
	return r
}

// publish puts a finished render's event on the bus, unless it went out
// before or another request is putting it now. A failure is logged and
// remembered, so that the next request to see the render publishes it.
// ctx is a settling context: publish records what it did within it.
func (s *Service) publish(ctx context.Context, r *records.Render) (published bool, err error) {
	if s.cfg.Events == nil || r.EventPublished {
		return false, nil
	}
	claimed, err := s.cfg.Records.ClaimEvent(ctx, r.RenderID)
	if err != nil || !claimed {
		return false, err
	}
	detailType, detail := eventOf(r)
	putErr := s.cfg.Events.Put(ctx, detailType, detail)
	if err := s.cfg.Records.EventPublished(ctx, r.RenderID, putErr == nil); err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "event state not recorded", slog.String("renderId", r.RenderID), slog.String("error", err.Error()))
	}
	if putErr != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "event not published", slog.String("renderId", r.RenderID), slog.String("error", putErr.Error()))
		return false, fmt.Errorf("%w: %w", ErrEventsUnavailable, putErr)
	}
	r.EventPublished = true
	return true, nil
}

// eventOf is the event of a finished render.
func eventOf(r *records.Render) (string, renderevent.Detail) {
	d := renderevent.Detail{
		RenderID:         r.RenderID,
		RemotionRenderID: r.RemotionRenderID,
		BucketName:       r.BucketName,
		Composition:      r.Composition,
		RequestedBy:      r.RequestedBy,
		State:            renderapi.State(r.State),
		CreatedAt:        r.CreatedAt,
		OutputFile:       r.OutputFile,
		TimeToFinishMs:   r.TimeToFinishMs,
		Costs:            CostsOf(r.Costs),
		Output:           OutputOf(r),
	}
	if r.FinishedAt != nil {
		d.FinishedAt = *r.FinishedAt
	}
	switch {
	case r.State == records.Done:
		return renderevent.Succeeded, d
	case r.State == records.Cancelled:
		return renderevent.Cancelled, d
	case r.TimedOut:
		d.Errors = r.Errors
		return renderevent.TimedOut, d
	default:
		d.Errors = r.Errors
		return renderevent.Failed, d
	}
}

// CostsOf is a record's costs as the API and the events show them.
func CostsOf(c *records.Costs) *renderapi.Costs {
	if c == nil {
		return nil
	}
	return &renderapi.Costs{EstimatedCost: json.Number(c.EstimatedCost), DisplayCost: c.DisplayCost, Currency: c.Currency, Disclaimer: renderapi.CostDisclaimer}
}

// OutputOf is where a render into the deployment's output bucket lands.
func OutputOf(r *records.Render) *renderapi.Output {
	if r.OutputBucket == "" {
		return nil
	}
	return &renderapi.Output{Bucket: r.OutputBucket, Key: r.OutputKey, S3URI: "s3://" + r.OutputBucket + "/" + r.OutputKey, URL: r.OutputFile}
}

// Delivery is a verified webhook's effect.
type Delivery struct {
	RenderID string
	// Duplicate: the outcome was received before; nothing more was done.
	Duplicate bool
}

// ErrBadSignature: a webhook whose signature is not this deployment's.
var ErrBadSignature = remotion.ErrBadSignature

// VerifyWebhook checks a webhook's signature over its exact body, before
// anything reads the body.
func (s *Service) VerifyWebhook(ctx context.Context, body []byte, signature string) error {
	work, cancel := s.work(ctx)
	defer cancel()
	value, err := s.cfg.WebhookSecret.Value(work)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSecretUnavailable, err)
	}
	return remotion.VerifyWebhook(body, signature, value)
}

// Webhook takes the outcome that a verified webhook body reports: it
// finishes the render's record once and publishes its event once, however
// often Remotion delivers it. A failed publication is an error, so that
// Remotion delivers it again.
func (s *Service) Webhook(ctx context.Context, body []byte) (*Delivery, error) {
	var w remotion.Webhook
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("%w: its body is not JSON", ErrBadWebhook)
	}
	o, err := outcomeOfWebhook(&w, s.now())
	if err != nil {
		return nil, err
	}
	// The render is named in the custom data its start gave Remotion, or,
	// for records written before that, by Remotion's ID.
	var custom customData
	json.Unmarshal(w.CustomData, &custom)
	renderID := custom.RenderID
	if renderID == "" {
		renderID = w.RenderID
	}
	d := &Delivery{RenderID: renderID}
	work, cancel := s.work(ctx)
	defer cancel()
	rec, err := s.cfg.Records.Get(work, renderID)
	if errors.Is(err, records.ErrNotFound) {
		return d, ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("%w: %w", ErrRecordsUnavailable, err)
	}
	if !rec.State.Final() && o.Costs == nil && w.RenderID != "" && w.BucketName != "" {
		// A failure's webhook says nothing of its cost: its progress does.
		if p, err := s.remotion.RenderProgress(work, w.BucketName, w.RenderID); err == nil {
			o.Costs = costsOf(p)
		} else {
			s.log.LogAttrs(ctx, slog.LevelWarn, "cost of a failed render not read", slog.String("renderId", renderID), slog.String("error", err.Error()))
		}
	}
	ctx, cancelDone := settle(ctx) // what follows records what Remotion said
	defer cancelDone()
	if !rec.State.Final() {
		finished, err := s.cfg.Records.Finish(ctx, renderID, o)
		if err != nil {
			return d, fmt.Errorf("%w: %w", ErrRecordsUnavailable, err)
		}
		if finished == nil { // another path finished it meanwhile
			finished, err = s.cfg.Records.Get(ctx, renderID)
		} else {
			s.settleCost(ctx, finished)
			defer s.ended(ctx, renderID)
		}
		if err != nil {
			return d, fmt.Errorf("%w: %w", ErrRecordsUnavailable, err)
		}
		rec = finished
	}
	published, err := s.publish(ctx, rec)
	if err != nil {
		return d, err
	}
	d.Duplicate = !published
	return d, nil
}

// outcomeOfWebhook reads how the render ended from its webhook.
func outcomeOfWebhook(w *remotion.Webhook, now time.Time) (records.Outcome, error) {
	o := records.Outcome{FinishedAt: now, RemotionRenderID: w.RenderID, BucketName: w.BucketName, Errors: []string{}}
	switch w.Type {
	case "success":
		o.State, o.OutputFile, o.TimeToFinishMs = records.Done, w.OutputFile, w.TimeToFinish
		if c := w.Costs; c != nil {
			o.Costs = &records.Costs{EstimatedCost: attributevalue.Number(c.EstimatedCost), DisplayCost: c.EstimatedDisplayCost, Currency: c.Currency}
		}
	case "error":
		o.State = records.Failed
		for _, e := range w.Errors {
			o.Errors = appendError(o.Errors, e.Message)
		}
	case "timeout":
		o.State, o.TimedOut = records.Failed, true
		o.Errors = []string{"the render timed out"}
	default:
		return o, fmt.Errorf("%w (%q)", ErrWebhookType, w.Type)
	}
	return o, nil
}

// appendError keeps an error's first line, within the limits.
func appendError(errs []string, message string) []string {
	if len(errs) == maxErrors {
		return errs
	}
	message, _, _ = strings.Cut(strings.TrimSpace(message), "\n")
	if len(message) > maxErrorLength {
		message = strings.ToValidUTF8(message[:maxErrorLength], "") + "…"
	}
	return append(errs, message)
}

// List returns a page of renders, newest first: requestedBy's, or
// everyone's when it is empty.
func (s *Service) List(ctx context.Context, requestedBy string, limit int, cursor string) ([]records.Render, string, error) {
	work, cancel := s.work(ctx)
	defer cancel()
	renders, next, err := s.cfg.Records.List(work, requestedBy, limit, cursor)
	if err != nil && !errors.Is(err, records.ErrBadCursor) {
		err = fmt.Errorf("%w: %w", ErrRecordsUnavailable, err)
	}
	return renders, next, err
}

// Package eventbus puts render outcomes on an EventBridge bus, as events of
// source remotion.render that anything can subscribe to.
package eventbus

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// Source is every event's source.
const Source = "remotion.render"

// Detail types, one per outcome.
const (
	RenderSucceeded = "Render Succeeded"
	RenderFailed    = "Render Failed"
	RenderTimedOut  = "Render Timed Out"
)

// Bus is one event bus.
type Bus struct {
	eb   *eventbridge.Client
	name string
}

// New makes a Bus of the bus named name; empty means the account's default.
func New(eb *eventbridge.Client, name string) *Bus {
	if name == "" {
		name = "default"
	}
	return &Bus{eb: eb, name: name}
}

// Put puts one event; it fails unless EventBridge accepted it.
func (b *Bus) Put(ctx context.Context, detailType string, detail any) error {
	body, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("put %s event: %w", detailType, err)
	}
	out, err := b.eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		EventBusName: aws.String(b.name),
		Source:       aws.String(Source),
		DetailType:   aws.String(detailType),
		Detail:       aws.String(string(body)),
	}}})
	if err != nil {
		return fmt.Errorf("put %s event: %w", detailType, err)
	}
	if out.FailedEntryCount > 0 {
		code, message := "", ""
		if len(out.Entries) > 0 {
			code, message = aws.ToString(out.Entries[0].ErrorCode), aws.ToString(out.Entries[0].ErrorMessage)
		}
		return fmt.Errorf("put %s event: EventBridge refused it: %s %s", detailType, code, message)
	}
	return nil
}

// Package eventbus puts render outcomes on an EventBridge bus, as events of
// source remotion.render that anything can subscribe to.
package eventbus

import (
	"context"
	"encoding/json"
	"fmt"

	"remotion-lambda-iam/lambda/awsjson"
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
	eb   *awsjson.Client // of EventBridge
	name string
}

// New makes a Bus of the bus named name, reached through eb, a client of
// EventBridge; an empty name means the account's default bus.
func New(eb *awsjson.Client, name string) *Bus {
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
	type entry struct{ EventBusName, Source, DetailType, Detail string }
	var out struct {
		FailedEntryCount int
		Entries          []struct{ ErrorCode, ErrorMessage string }
	}
	in := struct{ Entries []entry }{[]entry{{EventBusName: b.name, Source: Source, DetailType: detailType, Detail: string(body)}}}
	if err := b.eb.Call(ctx, "PutEvents", in, &out); err != nil {
		return fmt.Errorf("put %s event: %w", detailType, err)
	}
	if out.FailedEntryCount > 0 {
		code, message := "", ""
		if len(out.Entries) > 0 {
			code, message = out.Entries[0].ErrorCode, out.Entries[0].ErrorMessage
		}
		return fmt.Errorf("put %s event: EventBridge refused it: %s %s", detailType, code, message)
	}
	return nil
}

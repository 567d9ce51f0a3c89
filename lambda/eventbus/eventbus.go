// Package eventbus puts render outcomes on an EventBridge bus, as the
// events renderevent describes, which anything can subscribe to.
package eventbus

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"remotion-lambda-iam/contract/renderevent"
)

// Bus is one event bus.
type Bus struct {
	eb   *eventbridge.Client
	name string
}

// New makes a Bus of the bus named name, reached through eb; an empty name
// means the account's default bus.
func New(eb *eventbridge.Client, name string) *Bus {
	if name == "" {
		name = renderevent.DefaultBus
	}
	return &Bus{eb: eb, name: name}
}

// Put puts one event; it fails unless EventBridge accepted it.
func (b *Bus) Put(ctx context.Context, detailType string, detail renderevent.Detail) error {
	body, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("put %s event: %w", detailType, err)
	}
	out, err := b.eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		EventBusName: aws.String(b.name),
		Source:       aws.String(renderevent.Source),
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

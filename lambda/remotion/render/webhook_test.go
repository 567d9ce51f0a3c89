package render

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestWebhookRules(t *testing.T) {
	long := `{"k":"` + strings.Repeat("x", MaxWebhookCustomData-8) + `"}`
	tests := []struct {
		name    string
		webhook Webhook
		says    string // empty: valid
	}{
		{"a URL and custom data", Webhook{URL: "https://abc.execute-api.us-east-1.amazonaws.com/webhooks/remotion", Secret: "s", CustomData: json.RawMessage(`{"requestId":"r"}`)}, ""},
		{"no custom data", Webhook{URL: "https://x.example/h"}, ""},
		{"1,024 characters", Webhook{URL: "https://x.example/h", CustomData: json.RawMessage(long)}, ""},
		{"1,025 characters", Webhook{URL: "https://x.example/h", CustomData: json.RawMessage(long[:len(long)-2] + `x"}`)}, "at most 1024"},
		{"not an object", Webhook{URL: "https://x.example/h", CustomData: json.RawMessage(`[1]`)}, "JSON object"},
		{"not ASCII", Webhook{URL: "https://x.example/h", CustomData: json.RawMessage(`{"t":"café"}`)}, "ASCII"},
		{"a relative URL", Webhook{URL: "/webhooks/remotion"}, "absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.webhook.Validate()
			switch {
			case tt.says == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.says != "" && (err == nil || !strings.Contains(err.Error(), tt.says)):
				t.Errorf("err = %v, want one saying %q", err, tt.says)
			}
		})
	}
}

package render

import (
	"encoding/json"
	"fmt"
	"net/url"
)

// MaxWebhookCustomData is the longest customData Remotion's client accepts,
// in characters of its JSON.
const MaxWebhookCustomData = 1024

// Webhook asks the render function to POST the render's outcome to URL,
// signed with Secret. It is set by the deployment, never by a request.
type Webhook struct {
	URL        string          `json:"url"`
	Secret     string          `json:"secret"`
	CustomData json.RawMessage `json:"customData"`
}

// Validate applies Remotion's rules for a webhook: an absolute http(s) URL,
// and customData that is a JSON object of at most 1,024 characters. The
// project also keeps customData ASCII: Remotion sends the body with a
// Content-Length of its JavaScript string length, which is wrong for any
// other character.
func (w *Webhook) Validate() error {
	if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("webhook url %q is not an absolute http(s) URL", w.URL)
	}
	if w.CustomData == nil {
		return nil
	}
	var obj map[string]any
	if err := json.Unmarshal(w.CustomData, &obj); err != nil {
		return fmt.Errorf("webhook customData must be a JSON object: %w", err)
	}
	if n := len(w.CustomData); n > MaxWebhookCustomData {
		return fmt.Errorf("webhook customData is %d characters of JSON; Remotion takes at most %d", n, MaxWebhookCustomData)
	}
	for _, b := range w.CustomData {
		if b >= 0x80 {
			return fmt.Errorf("webhook customData must be ASCII")
		}
	}
	return nil
}

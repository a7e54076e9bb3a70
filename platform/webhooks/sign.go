// Package webhooks sends the webhook deliveries the store queues with
// their audit events (SPEC 4e): signed as Standard Webhooks
// (github.com/standard-webhooks/standard-webhooks), through an HTTP client
// whose dialer refuses internal addresses at the moment of connecting,
// by a delivery loop on every replica shaped like the mail outbox's:
// claims under a lease, results recorded even at shutdown, a retry
// schedule, and endpoints that answer 410 or fail for days disabled.
package webhooks

import (
	"fmt"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Sign returns the webhook-signature header of message id sent at at
// with body: one "v1,<base64 HMAC-SHA256 of id.timestamp.body>" per
// secret ("whsec_" + base64), space-separated, so that a receiver holding
// any one of them verifies it (during a rotation's overlap, the old
// secret's and the new one's).
func Sign(id string, at time.Time, body []byte, secrets ...string) (string, error) {
	if len(secrets) == 0 {
		return "", fmt.Errorf("sign webhook %s: no secret", id)
	}
	sigs := make([]string, len(secrets))
	for i, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			return "", fmt.Errorf("sign webhook %s: %w", id, err)
		}
		if sigs[i], err = wh.Sign(id, at, body); err != nil {
			return "", fmt.Errorf("sign webhook %s: %w", id, err)
		}
	}
	return strings.Join(sigs, " "), nil
}

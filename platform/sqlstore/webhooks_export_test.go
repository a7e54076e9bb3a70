package sqlstore

import (
	"time"

	"github.com/gofrs/uuid/v5"
)

// WebhookQueries returns the webhooks' queries of many rows with sample
// parameters, for plan tests.
func (s *Store) WebhookQueries(endpoint uuid.UUID, at time.Time) []ListQuery {
	return []ListQuery{
		{queueWebhooksSQL, []any{uuid.Must(uuid.NewV7()), ts(at), "login.succeeded"}},
		{setWebhookPayloadSQL, []any{endpoint, uuid.Must(uuid.NewV7()), "{}"}},
		{s.claimWebhooksSQL(), []any{endpoint, ts(at), ts(at.Add(time.Minute)), 16}},
		{deliveriesSQL, []any{endpoint, uuid.Max, 51}},
		{deliveriesSQL, []any{endpoint, firstIDAt(at), 51}},
		{dueWebhookEndpointsSQL, []any{ts(at)}},
		{oldestDueWebhookSQL, []any{ts(at)}},
		{s.purgeWebhookDeliveriesSQL(), []any{endpoint, firstIDAt(at), 250}},
		{`UPDATE webhook_deliveries SET next_attempt_at = $4 WHERE endpoint_id = $1 AND id = $2 AND attempts = $3 AND ` + unfinished,
			[]any{endpoint, uuid.Must(uuid.NewV7()), 1, ts(at)}},
	}
}

// FirstIDAt is firstIDAt, for tests.
var FirstIDAt = firstIDAt

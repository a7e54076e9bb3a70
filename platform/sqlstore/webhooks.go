package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/user"
	"github.com/cleanslice/cleanslice/shared/webhook"
)

// The webhooks' queries (webhook_endpoints, webhook_subscriptions,
// webhook_deliveries). Endpoints are few (each one a receiver a super
// admin registered); deliveries are many, and every query of them goes
// through the primary key (endpoint_id, id), the due index (endpoint_id,
// next_attempt_at) of the unfinished ones, or the created_at index of the
// purge.
const (
	endpointColumns = `id, url, description, enabled, created_at, updated_at`

	// queueWebhooksSQL queues event $1 at $2 of type $3 (the parameters
	// of insertEventSQL) for every enabled endpoint subscribed to its type
	// or to every type: one statement, which writes nothing when nobody
	// subscribes.
	queueWebhooksSQL = `INSERT INTO webhook_deliveries (endpoint_id, id, event_type, created_at, next_attempt_at)
		SELECT w.id, $1, $3, $2, $2 FROM webhook_endpoints w
		WHERE w.enabled AND w.id IN (SELECT endpoint_id FROM webhook_subscriptions WHERE event_type IN ($3, '*'))
		RETURNING endpoint_id`
	setWebhookPayloadSQL = `UPDATE webhook_deliveries SET payload = $3 WHERE endpoint_id = $1 AND id = $2`
	usernameSQL          = `SELECT username FROM users WHERE id = $1`

	unfinished = `delivered_at IS NULL AND given_up_at IS NULL`

	dueWebhookEndpointsSQL = `SELECT w.id FROM webhook_endpoints w WHERE w.enabled AND EXISTS (
		SELECT 1 FROM webhook_deliveries d WHERE d.endpoint_id = w.id AND d.` + unfinished + ` AND d.next_attempt_at <= $1)`
	// The longest-waiting due delivery of each enabled endpoint, one
	// probe of the due index each, and the oldest of those.
	oldestDueWebhookSQL = `SELECT min((SELECT d.next_attempt_at FROM webhook_deliveries d
		WHERE d.endpoint_id = w.id AND d.` + unfinished + ` AND d.next_attempt_at <= $1
		ORDER BY d.next_attempt_at LIMIT 1)) FROM webhook_endpoints w WHERE w.enabled`
	webhookTargetSQL = `SELECT url, secret, previous_secret, previous_until, failing_since FROM webhook_endpoints WHERE id = $1 AND enabled`

	deliveryColumns = `id, event_type, created_at, attempts, last_status, next_attempt_at, delivered_at, given_up_at`
	deliveriesSQL   = `SELECT ` + deliveryColumns + ` FROM webhook_deliveries
		WHERE endpoint_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`
)

type endpointRow struct {
	ID          uuid.UUID `db:"id"`
	URL         string    `db:"url"`
	Description string    `db:"description"`
	Enabled     bool      `db:"enabled"`
	CreatedAt   dbTime    `db:"created_at"`
	UpdatedAt   dbTime    `db:"updated_at"`
}

func (r endpointRow) endpoint(events []string) webhook.Endpoint {
	return webhook.Endpoint{ID: r.ID, URL: r.URL, Description: r.Description, Events: events, Enabled: r.Enabled,
		CreatedAt: r.CreatedAt.Time, UpdatedAt: r.UpdatedAt.Time}
}

// InsertWebhookEndpoint stores a new endpoint and its subscriptions, its
// signing secret sealed.
func (s *Store) InsertWebhookEndpoint(ctx context.Context, e webhook.Endpoint, sealedSecret []byte) error {
	return s.WithinTx(ctx, func(ctx context.Context) error {
		_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO webhook_endpoints (`+endpointColumns+`, secret) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			e.ID, e.URL, e.Description, e.Enabled, ts(e.CreatedAt), ts(e.UpdatedAt), sealedSecret)
		if err != nil {
			return s.translate("insert webhook endpoint", err)
		}
		return s.subscribe(ctx, e.ID, e.Events)
	})
}

func (s *Store) subscribe(ctx context.Context, id uuid.UUID, events []string) error {
	for _, t := range events {
		if _, err := s.q(ctx).ExecContext(ctx, `INSERT INTO webhook_subscriptions (event_type, endpoint_id) VALUES ($1, $2)`, t, id); err != nil {
			return s.translate("subscribe webhook endpoint", err)
		}
	}
	return nil
}

// WebhookEndpoints returns every endpoint, oldest first, with its
// subscriptions.
func (s *Store) WebhookEndpoints(ctx context.Context) ([]webhook.Endpoint, error) {
	var rows []endpointRow
	if err := s.q(ctx).SelectContext(ctx, &rows, `SELECT `+endpointColumns+` FROM webhook_endpoints ORDER BY id`); err != nil {
		return nil, s.translate("webhook endpoints", err)
	}
	var subs []struct {
		EndpointID uuid.UUID `db:"endpoint_id"`
		EventType  string    `db:"event_type"`
	}
	if err := s.q(ctx).SelectContext(ctx, &subs, `SELECT endpoint_id, event_type FROM webhook_subscriptions`); err != nil {
		return nil, s.translate("webhook subscriptions", err)
	}
	events := map[uuid.UUID][]string{}
	for _, sub := range subs {
		events[sub.EndpointID] = append(events[sub.EndpointID], sub.EventType)
	}
	out := make([]webhook.Endpoint, len(rows))
	for i, r := range rows {
		slices.Sort(events[r.ID])
		out[i] = r.endpoint(events[r.ID])
	}
	return out, nil
}

// WebhookEndpoint returns an endpoint, or webhook.ErrNotFound.
func (s *Store) WebhookEndpoint(ctx context.Context, id uuid.UUID) (webhook.Endpoint, error) {
	return s.webhookEndpoint(ctx, "webhook endpoint", `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE id = $1`, id)
}

// WebhookEndpointForUpdate returns an endpoint and locks it until the
// transaction in ctx ends, or webhook.ErrNotFound. Call it inside
// WithinTx.
func (s *Store) WebhookEndpointForUpdate(ctx context.Context, id uuid.UUID) (webhook.Endpoint, error) {
	return s.webhookEndpoint(ctx, "lock webhook endpoint", `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE id = $1`+s.d.ForUpdate, id)
}

func (s *Store) webhookEndpoint(ctx context.Context, op, query string, id uuid.UUID) (webhook.Endpoint, error) {
	var r endpointRow
	err := s.translate(op, s.q(ctx).GetContext(ctx, &r, query, id))
	if errors.Is(err, sql.ErrNoRows) {
		return webhook.Endpoint{}, fmt.Errorf("%s %s: %w", op, id, webhook.ErrNotFound)
	}
	if err != nil {
		return webhook.Endpoint{}, err
	}
	var events []string
	if err := s.q(ctx).SelectContext(ctx, &events, `SELECT event_type FROM webhook_subscriptions WHERE endpoint_id = $1 ORDER BY event_type`, id); err != nil {
		return webhook.Endpoint{}, s.translate(op, err)
	}
	return r.endpoint(events), nil
}

// UpdateWebhookEndpoint stores e's URL, description, enabled flag and
// subscriptions. A new URL, or an endpoint enabled again, starts its
// failure clock over.
func (s *Store) UpdateWebhookEndpoint(ctx context.Context, e webhook.Endpoint) error {
	return s.WithinTx(ctx, func(ctx context.Context) error {
		n, err := s.execCount(ctx, "update webhook endpoint", `UPDATE webhook_endpoints
			SET failing_since = CASE WHEN url <> $2 OR (NOT enabled AND $4) THEN NULL ELSE failing_since END,
				url = $2, description = $3, enabled = $4, updated_at = $5
			WHERE id = $1`, e.ID, e.URL, e.Description, e.Enabled, ts(e.UpdatedAt))
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("update webhook endpoint %s: %w", e.ID, webhook.ErrNotFound)
		}
		if _, err := s.q(ctx).ExecContext(ctx, `DELETE FROM webhook_subscriptions WHERE endpoint_id = $1`, e.ID); err != nil {
			return s.translate("update webhook subscriptions", err)
		}
		return s.subscribe(ctx, e.ID, e.Events)
	})
}

// RotateWebhookSecret makes sealed the endpoint's signing secret; the one
// it replaces still signs until until. A secret replaced before (its
// overlap not over yet) stops signing now.
func (s *Store) RotateWebhookSecret(ctx context.Context, id uuid.UUID, sealed []byte, until, now time.Time) error {
	n, err := s.execCount(ctx, "rotate webhook secret", `UPDATE webhook_endpoints
		SET previous_secret = secret, previous_until = $3, secret = $2, updated_at = $4 WHERE id = $1`, id, sealed, ts(until), ts(now))
	if err == nil && n == 0 {
		err = fmt.Errorf("rotate webhook secret %s: %w", id, webhook.ErrNotFound)
	}
	return err
}

// DeleteWebhookEndpoint removes an endpoint with its subscriptions and
// deliveries, or answers webhook.ErrNotFound.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, id uuid.UUID) error {
	n, err := s.execCount(ctx, "delete webhook endpoint", `DELETE FROM webhook_endpoints WHERE id = $1`, id)
	if err == nil && n == 0 {
		err = fmt.Errorf("delete webhook endpoint %s: %w", id, webhook.ErrNotFound)
	}
	return err
}

// setWebhookPayloads writes the body of e's deliveries, queued with it
// for endpoints (RecordEvent), made now from the transaction's view of
// the users e names, so that every attempt sends the event as it
// committed.
func (s *Store) setWebhookPayloads(ctx context.Context, e audit.Event, endpoints []uuid.UUID) error {
	if len(endpoints) == 0 {
		return nil
	}
	payload, err := s.webhookPayload(ctx, e)
	if err != nil {
		return err
	}
	for _, id := range endpoints {
		if _, err := s.q(ctx).ExecContext(ctx, setWebhookPayloadSQL, id, e.ID, string(payload)); err != nil {
			return s.translate("queue webhooks of "+string(e.Type), err)
		}
	}
	return nil
}

// webhookPayload returns the body of e's deliveries: with its parties'
// usernames and its target's user object, when they exist.
func (s *Store) webhookPayload(ctx context.Context, e audit.Event) ([]byte, error) {
	var target *user.User
	if !e.Target.ID.IsNil() {
		u, err := s.UserByID(ctx, e.Target.ID)
		switch {
		case err == nil:
			target, e.Target.Username = &u, u.Username
		case !errors.Is(err, user.ErrNotFound):
			return nil, err
		}
	}
	if !e.Actor.ID.IsNil() {
		if e.Actor.ID == e.Target.ID && target != nil {
			e.Actor.Username = target.Username
		} else if err := s.scanRow(ctx, usernameSQL, []any{e.Actor.ID}, &e.Actor.Username); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, s.translate("webhook payload", err)
		}
	}
	b, err := webhook.Payload(e, target)
	if err != nil {
		return nil, fmt.Errorf("webhook payload of %s: %w", e.Type, err)
	}
	return b, nil
}

// QueueWebhookTest queues a test delivery (id, body payload) to an
// endpoint, whatever it subscribes to.
func (s *Store) QueueWebhookTest(ctx context.Context, endpointID, id uuid.UUID, payload []byte, now time.Time) error {
	_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO webhook_deliveries (endpoint_id, id, event_type, payload, created_at, next_attempt_at)
		VALUES ($1, $2, $3, $4, $5, $5)`, endpointID, id, webhook.TestEvent, string(payload), ts(now))
	return s.translate("queue webhook test", err)
}

type deliveryRow struct {
	ID            uuid.UUID     `db:"id"`
	EventType     string        `db:"event_type"`
	CreatedAt     dbTime        `db:"created_at"`
	Attempts      int           `db:"attempts"`
	LastStatus    sql.NullInt64 `db:"last_status"`
	NextAttemptAt dbTime        `db:"next_attempt_at"`
	DeliveredAt   dbTime        `db:"delivered_at"`
	GivenUpAt     dbTime        `db:"given_up_at"`
}

// WebhookDeliveries returns up to limit deliveries of an endpoint, newest
// first, after the one whose id is after (uuid.Nil: from the newest).
func (s *Store) WebhookDeliveries(ctx context.Context, endpointID, after uuid.UUID, limit int) ([]webhook.Delivery, error) {
	if after.IsNil() {
		after = uuid.Max
	}
	var rows []deliveryRow
	if err := s.q(ctx).SelectContext(ctx, &rows, deliveriesSQL, endpointID, after, limit); err != nil {
		return nil, s.translate("webhook deliveries", err)
	}
	out := make([]webhook.Delivery, len(rows))
	for i, r := range rows {
		d := webhook.Delivery{ID: r.ID, EventType: r.EventType, CreatedAt: r.CreatedAt.Time, Attempts: r.Attempts,
			LastStatus: int(r.LastStatus.Int64), DeliveredAt: r.DeliveredAt.Time, GivenUpAt: r.GivenUpAt.Time}
		if d.DeliveredAt.IsZero() && d.GivenUpAt.IsZero() {
			d.NextAttemptAt = r.NextAttemptAt.Time
		}
		out[i] = d
	}
	return out, nil
}

// RetryWebhookDelivery makes a delivery of an endpoint due at now, once
// more, delivered or given up as it may be; it reports whether there is
// one. Its attempts go on counting (one more failure past the schedule
// gives it up again).
func (s *Store) RetryWebhookDelivery(ctx context.Context, endpointID, id uuid.UUID, now time.Time) (bool, error) {
	n, err := s.execCount(ctx, "retry webhook delivery", `UPDATE webhook_deliveries
		SET next_attempt_at = $3, delivered_at = NULL, given_up_at = NULL WHERE endpoint_id = $1 AND id = $2`, endpointID, id, ts(now))
	return n == 1, err
}

// DueWebhookEndpoints returns the enabled endpoints with a delivery due
// at now: one probe of the due index per endpoint.
func (s *Store) DueWebhookEndpoints(ctx context.Context, now time.Time) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	if err := s.q(ctx).SelectContext(ctx, &ids, dueWebhookEndpointsSQL, ts(now)); err != nil {
		return nil, s.translate("due webhook endpoints", err)
	}
	return ids, nil
}

// OldestDueWebhook returns since when the longest-waiting due delivery of
// an enabled endpoint has been due, and whether there is one.
func (s *Store) OldestDueWebhook(ctx context.Context, now time.Time) (time.Time, bool, error) {
	var due dbTime
	if err := s.scanRow(ctx, oldestDueWebhookSQL, []any{ts(now)}, &due); err != nil {
		return time.Time{}, false, s.translate("oldest due webhook", err)
	}
	return due.Time, !due.IsZero(), nil
}

// WebhookTarget is where and how an endpoint's deliveries go.
type WebhookTarget struct {
	URL    string
	Secret []byte // sealed
	// PreviousSecret (sealed) still signs before PreviousUntil.
	PreviousSecret []byte
	PreviousUntil  time.Time
	// FailingSince is since when every attempt has failed; zero when the
	// last one succeeded.
	FailingSince time.Time
}

// WebhookTarget returns an enabled endpoint's target, and false when it
// is disabled or gone.
func (s *Store) WebhookTarget(ctx context.Context, id uuid.UUID) (WebhookTarget, bool, error) {
	var r struct {
		URL            string `db:"url"`
		Secret         []byte `db:"secret"`
		PreviousSecret []byte `db:"previous_secret"`
		PreviousUntil  dbTime `db:"previous_until"`
		FailingSince   dbTime `db:"failing_since"`
	}
	err := s.q(ctx).GetContext(ctx, &r, webhookTargetSQL, id)
	if errors.Is(err, sql.ErrNoRows) {
		return WebhookTarget{}, false, nil
	}
	if err != nil {
		return WebhookTarget{}, false, s.translate("webhook target", err)
	}
	return WebhookTarget{URL: r.URL, Secret: r.Secret, PreviousSecret: r.PreviousSecret, PreviousUntil: r.PreviousUntil.Time,
		FailingSince: r.FailingSince.Time}, true, nil
}

// WebhookDelivery is a claimed delivery: what to send, and which attempt
// this is (the claimed one included).
type WebhookDelivery struct {
	EndpointID uuid.UUID
	ID         uuid.UUID
	EventType  string
	Payload    []byte
	Attempts   int
}

// claimWebhooksSQL takes up to $4 due deliveries of endpoint $1 ($2 now)
// for an attempt each, leased until $3: their next attempt moves to the
// lease's end, so that a replica that dies mid-attempt leaves them due
// again then, and no other replica takes them meanwhile (PostgreSQL's
// claimers pass over each other's rows; SQLite has one writer at a time).
func (s *Store) claimWebhooksSQL() string {
	due := `SELECT id FROM webhook_deliveries WHERE endpoint_id = $1 AND ` + unfinished + ` AND next_attempt_at <= $2
		ORDER BY next_attempt_at LIMIT $4` + s.d.SkipLocked
	return `UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $3
		WHERE endpoint_id = $1 AND id ` + fmt.Sprintf(s.d.InSubquery, due) + ` RETURNING id, event_type, payload, attempts`
}

// ClaimWebhookDeliveries takes up to limit due deliveries of an endpoint
// for an attempt, leased for lease from now.
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, endpointID uuid.UUID, now time.Time, lease time.Duration, limit int) ([]WebhookDelivery, error) {
	var rows []struct {
		ID        uuid.UUID `db:"id"`
		EventType string    `db:"event_type"`
		Payload   string    `db:"payload"`
		Attempts  int       `db:"attempts"`
	}
	if err := s.q(ctx).SelectContext(ctx, &rows, s.claimWebhooksSQL(), endpointID, ts(now), ts(now.Add(lease)), limit); err != nil {
		return nil, s.translate("claim webhook deliveries", err)
	}
	out := make([]WebhookDelivery, len(rows))
	for i, r := range rows {
		out[i] = WebhookDelivery{EndpointID: endpointID, ID: r.ID, EventType: r.EventType, Payload: []byte(r.Payload), Attempts: r.Attempts}
	}
	return out, nil
}

// WebhookOutcome is what an attempt leads to.
type WebhookOutcome int

// The outcomes of an attempt.
const (
	WebhookDelivered WebhookOutcome = iota + 1 // a 2xx answer
	WebhookRetry                               // a failure, tried again at Next
	WebhookGivenUp                             // a failure, no more attempts
	WebhookReleased                            // interrupted (shutdown): due again at Next, not a failure
)

// WebhookAttempt is the result of one attempt of a claimed delivery.
type WebhookAttempt struct {
	Delivery WebhookDelivery
	Outcome  WebhookOutcome
	At       time.Time // when it ended
	Status   int       // the HTTP status; 0: no answer
	Next     time.Time // WebhookRetry, WebhookReleased: when it is due again
	// Disable, when set, disables the endpoint for this reason (the
	// details.reason of webhook.disabled): "gone" (a 410), "failing" (five
	// days of failures).
	Disable string
}

// RecordWebhookAttempts records the results of attempts of one
// endpoint's deliveries (a lane's batch), in one transaction with the
// endpoint's failure clock (stopped when one was delivered, else started
// by the first failure) and, when an attempt's Disable says so, the
// endpoint disabled and the webhook.disabled event. A delivery claimed
// again since (its lease ended and another attempt took it, or it was
// retried by hand) is left to that attempt: its result is not recorded.
func (s *Store) RecordWebhookAttempts(ctx context.Context, attempts ...WebhookAttempt) error {
	return s.WithinTx(ctx, func(ctx context.Context) error {
		var (
			endpoint            uuid.UUID
			delivered           bool
			failedAt            time.Time
			disable             string
			disableAt           time.Time
			lastStatus, counted int
		)
		for _, a := range attempts {
			n, err := s.recordWebhookAttempt(ctx, a)
			if err != nil {
				return err
			}
			if n == 0 || a.Outcome == WebhookReleased {
				continue
			}
			endpoint, counted = a.Delivery.EndpointID, counted+1
			switch {
			case a.Outcome == WebhookDelivered:
				delivered = true
			case failedAt.IsZero() || a.At.Before(failedAt):
				failedAt = a.At
			}
			if a.Disable != "" && disable == "" {
				disable, disableAt, lastStatus = a.Disable, a.At, a.Status
			}
		}
		if counted == 0 {
			return nil
		}
		var err error
		switch {
		case delivered:
			_, err = s.q(ctx).ExecContext(ctx, `UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL`, endpoint)
		default:
			_, err = s.q(ctx).ExecContext(ctx, `UPDATE webhook_endpoints SET failing_since = $2 WHERE id = $1 AND failing_since IS NULL`, endpoint, ts(failedAt))
		}
		if err != nil {
			return s.translate("record webhook failure clock", err)
		}
		if disable == "" {
			return nil
		}
		n, err := s.execCount(ctx, "disable webhook endpoint",
			`UPDATE webhook_endpoints SET enabled = $2, updated_at = $3 WHERE id = $1 AND enabled`, endpoint, false, ts(disableAt))
		if err != nil || n == 0 {
			return err
		}
		return s.RecordEvent(ctx, audit.Event{ID: user.NewID(), OccurredAt: user.Timestamp(disableAt), Type: audit.WebhookDisabled,
			Details: map[string]any{"webhook": endpoint.String(), "reason": disable, "last_status": lastStatus}})
	})
}

// recordWebhookAttempt records one result, only while the delivery is
// still held by that attempt, and reports whether it was.
func (s *Store) recordWebhookAttempt(ctx context.Context, a WebhookAttempt) (int64, error) {
	d := a.Delivery
	fence := []any{d.EndpointID, d.ID, d.Attempts}
	var set string
	args := []any{ts(a.At), nullStatus(a.Status)}
	switch a.Outcome {
	case WebhookDelivered:
		set = `delivered_at = $4, last_status = $5`
	case WebhookGivenUp:
		set = `given_up_at = $4, last_status = $5`
	case WebhookRetry:
		set, args = `next_attempt_at = $4, last_status = $5`, []any{ts(a.Next), nullStatus(a.Status)}
	case WebhookReleased:
		set, args = `next_attempt_at = $4`, []any{ts(a.Next)}
	default:
		return 0, fmt.Errorf("record webhook attempt: outcome %d", a.Outcome)
	}
	return s.execCount(ctx, "record webhook attempt", `UPDATE webhook_deliveries SET `+set+`
		WHERE endpoint_id = $1 AND id = $2 AND attempts = $3 AND `+unfinished, append(fence, args...)...)
}

func nullStatus(status int) any {
	if status == 0 {
		return nil
	}
	return status
}

// DeleteOldWebhookDeliveries removes finished deliveries (delivered or
// given up) created before cutoff, endpoint by endpoint, in batches
// through the primary key: a delivery's id is a UUIDv7 (its event's, or a
// test's own), which starts with the millisecond it was made, so the
// deliveries before cutoff are the ids below firstIDAt(cutoff).
func (s *Store) DeleteOldWebhookDeliveries(ctx context.Context, cutoff time.Time) (int64, error) {
	var endpoints []uuid.UUID
	if err := s.q(ctx).SelectContext(ctx, &endpoints, `SELECT id FROM webhook_endpoints`); err != nil {
		return 0, s.translate("delete old webhook deliveries", err)
	}
	var total int64
	for _, id := range endpoints {
		n, err := s.deleteInBatches(ctx, "delete old webhook deliveries", s.purgeWebhookDeliveriesSQL(), id, firstIDAt(cutoff))
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// purgeWebhookDeliveriesSQL deletes up to $3 finished deliveries of
// endpoint $1 whose ids are below $2, the oldest first.
func (s *Store) purgeWebhookDeliveriesSQL() string {
	return `DELETE FROM webhook_deliveries WHERE endpoint_id = $1 AND id ` + fmt.Sprintf(s.d.InSubquery,
		`SELECT id FROM webhook_deliveries WHERE endpoint_id = $1 AND id < $2 AND (delivered_at IS NOT NULL OR given_up_at IS NOT NULL)
		ORDER BY id LIMIT $3`)
}

// firstIDAt returns the lowest UUIDv7 of t's millisecond: every id made
// before it sorts below.
func firstIDAt(t time.Time) uuid.UUID {
	var id uuid.UUID
	ms := uint64(t.UnixMilli())
	for i := range 6 {
		id[i] = byte(ms >> (40 - 8*i))
	}
	return id
}

// The webhook secrets under a key (the mfa keys seal them too): the
// endpoints are few, so these read the table whole.
const (
	webhookKeyIDsSQL = `SELECT substr(secret, 1, 8) FROM webhook_endpoints
		UNION SELECT substr(previous_secret, 1, 8) FROM webhook_endpoints WHERE previous_secret IS NOT NULL`
	webhooksUnderKeySQL = `SELECT
		(SELECT count(*) FROM webhook_endpoints WHERE substr(secret, 1, 8) = $1) +
		(SELECT count(*) FROM webhook_endpoints WHERE substr(previous_secret, 1, 8) = $1)`
)

// ResealWebhookSecrets moves every webhook secret (current or previous)
// sealed under the key whose id is from to the key reseal seals with
// (reseal gets an endpoint's sealed secret and returns it sealed anew, or
// an error when it does not open), in one transaction: endpoints are few.
// A previous secret whose overlap has ended by now signs nothing more: it
// is dropped instead. Call it outside WithinTx.
func (s *Store) ResealWebhookSecrets(ctx context.Context, from []byte, now time.Time, reseal func(endpointID uuid.UUID, sealed []byte) ([]byte, error)) (Resealed, error) {
	var done Resealed
	err := s.WithinTx(ctx, func(ctx context.Context) error {
		done = Resealed{}
		if _, err := s.q(ctx).ExecContext(ctx, `UPDATE webhook_endpoints SET previous_secret = NULL, previous_until = NULL
			WHERE previous_secret IS NOT NULL AND previous_until <= $1`, ts(now)); err != nil {
			return s.translate("drop expired webhook secrets", err)
		}
		var rows []struct {
			ID       uuid.UUID `db:"id"`
			Secret   []byte    `db:"secret"`
			Previous []byte    `db:"previous_secret"`
		}
		if err := s.q(ctx).SelectContext(ctx, &rows, `SELECT id, secret, previous_secret FROM webhook_endpoints
			WHERE substr(secret, 1, 8) = $1 OR substr(previous_secret, 1, 8) = $1`+s.d.ForUpdate, from); err != nil {
			return s.translate("webhook secrets under a key", err)
		}
		for _, r := range rows {
			for _, c := range []struct {
				column string
				sealed []byte
			}{{"secret", r.Secret}, {"previous_secret", r.Previous}} {
				column, sealed := c.column, c.sealed
				if len(sealed) < 8 || string(sealed[:8]) != string(from) {
					continue
				}
				moved, err := reseal(r.ID, sealed)
				if err != nil {
					done.Failed++
					continue
				}
				if _, err := s.q(ctx).ExecContext(ctx, `UPDATE webhook_endpoints SET `+column+` = $2 WHERE id = $1`, r.ID, moved); err != nil {
					return s.translate("reseal webhook secret", err)
				}
				done.Moved++
			}
		}
		return nil
	})
	return done, err
}

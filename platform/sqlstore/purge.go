package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// Retention is how long Purge keeps the rows whose end is not their own
// expiry.
type Retention struct {
	// Attempts is how long from its start an attempt window is kept at
	// least: the longest configured window. A window is kept until it
	// ends (each for its own length), and a window written without its
	// end, by a release before migration 000023, this long.
	Attempts time.Duration
	Audit    time.Duration // audit events; 0 keeps them all
	Mail     time.Duration // finished messages of the outbox, from their creation
	Webhooks time.Duration // finished webhook deliveries, from their creation
}

// Purged counts the rows one Purge deleted, by kind.
type Purged struct {
	Sessions       int64 // expired sessions
	AttemptWindows int64 // attempt windows that have ended (and are Retention.Attempts old)
	Mail           int64 // finished messages past Retention.Mail
	Tokens         int64 // expired one-time tokens
	PendingLogins  int64 // expired pending logins
	Ceremonies     int64 // expired WebAuthn ceremonies
	Flows          int64 // expired sign-in flows of identity providers
	AuditEvents    int64 // audit events past Retention.Audit
	Webhooks       int64 // finished webhook deliveries past Retention.Webhooks
	APIKeys        int64 // expired API keys
}

// Total is the number of rows deleted, of every kind.
func (p Purged) Total() int64 {
	return p.Sessions + p.AttemptWindows + p.Mail + p.Tokens + p.PendingLogins + p.Ceremonies + p.Flows + p.AuditEvents + p.APIKeys + p.Webhooks
}

// Purge deletes, as of now, the expired sessions, attempt windows that have
// ended (each kept for its own length, and at least keep.Attempts), finished mail older than keep.Mail, expired one-time
// tokens, pending logins, WebAuthn ceremonies, sign-in flows and API
// keys, audit events older than keep.Audit (none when it is 0) and
// finished webhook deliveries older than keep.Webhooks, and reports how
// many of each. Each
// kind goes in bounded batches of its own (deleteInBatches), never in one
// transaction with the others: the tables may be big. It records nothing
// in the audit trail. When one delete fails, Purge stops there and returns
// what it had deleted so far with the error, named for the kind. Call it
// outside WithinTx: in a transaction every batch would join it.
func (s *Store) Purge(ctx context.Context, now time.Time, keep Retention) (Purged, error) {
	var p Purged
	type kind struct {
		what  string // for the error
		n     *int64 // its count in p
		query string // its batch delete (batchDelete)
		args  []any  // its parameters before the batch size
	}
	kinds := []kind{
		{"expired sessions", &p.Sessions, s.purgeSessions(), []any{ts(now)}},
		{"stale attempt windows", &p.AttemptWindows, s.purgeAttempts(), []any{ts(now.Add(-keep.Attempts)), ts(now)}},
		{"old mail", &p.Mail, s.purgeMail(), []any{ts(now.Add(-keep.Mail))}},
		{"expired tokens", &p.Tokens, s.purgeTokens(), []any{ts(now)}},
		{"expired pending logins", &p.PendingLogins, s.purgePendingLogins(), []any{ts(now)}},
		{"expired webauthn ceremonies", &p.Ceremonies, s.purgeCeremonies(), []any{ts(now)}},
		{"expired sign-in flows", &p.Flows, s.purgeFlows(), []any{ts(now)}},
		{"expired api keys", &p.APIKeys, s.purgeAPIKeys(), []any{ts(now)}},
	}
	if keep.Audit > 0 {
		kinds = append(kinds, kind{"old audit events", &p.AuditEvents, s.purgeAuditEvents(), []any{ts(now.Add(-keep.Audit))}})
	}
	for _, k := range kinds {
		n, err := s.deleteInBatches(ctx, "purge "+k.what, k.query, k.args...)
		*k.n = n
		if err != nil {
			return p, err
		}
	}
	var err error
	p.Webhooks, err = s.DeleteOldWebhookDeliveries(ctx, now.Add(-keep.Webhooks))
	return p, err
}

// PurgeBatch is how many rows one purge statement deletes. Each batch is its
// own short transaction: on SQLite no batch holds the write lock for more
// than a few milliseconds, on PostgreSQL no long transaction builds up.
const PurgeBatch = 250

// batchDelete returns a DELETE of at most $2 rows of table matching where,
// found through the index of where and deleted by the primary key. order,
// when set, is that index's column: the batch is then the oldest rows, read
// in index order, so no data layout can make a scan look cheaper.
func (s *Store) batchDelete(table, key, where, order string) string {
	return s.batchDeleteLimit(table, key, where, order, "$2")
}

// batchDeleteLimit is batchDelete with the batch size in parameter limit,
// for a where of more than one parameter.
func (s *Store) batchDeleteLimit(table, key, where, order, limit string) string {
	if order != "" {
		where += ` ORDER BY ` + order
	}
	return `DELETE FROM ` + table + ` WHERE ` + key + ` ` +
		fmt.Sprintf(s.d.InSubquery, `SELECT `+key+` FROM `+table+` WHERE `+where+` LIMIT `+limit)
}

// deleteInBatches runs query, a DELETE whose last parameter is the batch
// size, until a batch deletes fewer rows than that, and returns the total.
// Between batches it gives waiting writers their turn.
func (s *Store) deleteInBatches(ctx context.Context, op, query string, args ...any) (int64, error) {
	var total int64
	args = append(args, PurgeBatch)
	for {
		n, err := s.execCount(ctx, op, query, args...)
		total += n
		if err != nil || n < PurgeBatch {
			return total, err
		}
		select {
		case <-ctx.Done():
			return total, s.translate(op, ctx.Err())
		case <-time.After(purgePause):
		}
	}
}

// purgePause is the rest between two purge batches.
const purgePause = 5 * time.Millisecond

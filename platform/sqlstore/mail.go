package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"
)

// Mail is one message of the outbox, rendered.
type Mail struct {
	ID        uuid.UUID
	Template  string
	To        string
	Subject   string
	Text      string
	HTML      string
	Secret    bool      // the bodies carry a one-time token
	CreatedAt time.Time //
	ExpiresAt time.Time // not worth sending after; zero: no limit
	Attempts  int       // attempts made, the claimed one included
}

const mailColumns = `id, template, recipient, subject, text_body, html_body, secret, created_at, expires_at, attempts`

type mailRow struct {
	ID        uuid.UUID `db:"id"`
	Template  string    `db:"template"`
	Recipient string    `db:"recipient"`
	Subject   string    `db:"subject"`
	Text      string    `db:"text_body"`
	HTML      string    `db:"html_body"`
	Secret    bool      `db:"secret"`
	CreatedAt dbTime    `db:"created_at"`
	ExpiresAt dbTime    `db:"expires_at"`
	Attempts  int       `db:"attempts"`
}

// InsertMail stores a message, due at once, in the transaction in ctx: it
// is sent exactly when the change that caused it commits.
func (s *Store) InsertMail(ctx context.Context, m Mail) error {
	_, err := s.q(ctx).ExecContext(ctx,
		`INSERT INTO mail_outbox (id, template, recipient, subject, text_body, html_body, secret, created_at, expires_at, next_attempt_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $8)`,
		m.ID, m.Template, m.To, m.Subject, m.Text, m.HTML, m.Secret, ts(m.CreatedAt), nullTime(m.ExpiresAt))
	return s.translate("queue mail", err)
}

// claimMailSQL takes up to $3 due messages ($1 now) for an attempt each,
// leased until $2: their next attempt moves to the lease's end, so that a
// replica that dies mid-attempt leaves them due again then, and no other
// replica takes them meanwhile (PostgreSQL's claimers pass over each
// other's rows; SQLite has one writer at a time).
func (s *Store) claimMailSQL() string {
	due := `SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
		ORDER BY next_attempt_at LIMIT $3` + s.d.SkipLocked
	return `UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = $2
		WHERE id ` + fmt.Sprintf(s.d.InSubquery, due) + ` RETURNING ` + mailColumns
}

// ClaimMail takes up to limit due messages for an attempt, leased for
// lease from now.
func (s *Store) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Mail, error) {
	var rows []mailRow
	if err := s.q(ctx).SelectContext(ctx, &rows, s.claimMailSQL(), ts(now), ts(now.Add(lease)), limit); err != nil {
		return nil, s.translate("claim mail", err)
	}
	out := make([]Mail, len(rows))
	for i, r := range rows {
		out[i] = Mail{ID: r.ID, Template: r.Template, To: r.Recipient, Subject: r.Subject, Text: r.Text, HTML: r.HTML,
			Secret: r.Secret, CreatedAt: r.CreatedAt.Time, ExpiresAt: r.ExpiresAt.Time, Attempts: r.Attempts}
	}
	return out, nil
}

// erasedBodies keeps a message's bodies, or erases them when they carry a
// token: once sent or given up, the outbox holds no usable link.
const erasedBodies = `text_body = CASE WHEN secret THEN '' ELSE text_body END, html_body = CASE WHEN secret THEN '' ELSE html_body END`

// MailSent records the delivery of message id.
func (s *Store) MailSent(ctx context.Context, id uuid.UUID, now time.Time) error {
	_, err := s.q(ctx).ExecContext(ctx,
		`UPDATE mail_outbox SET sent_at = $2, last_error = '', `+erasedBodies+` WHERE id = $1`, id, ts(now))
	return s.translate("record mail sent", err)
}

// MailRetry records a failed attempt and when the next one is due.
func (s *Store) MailRetry(ctx context.Context, id uuid.UUID, next time.Time, reason string) error {
	_, err := s.q(ctx).ExecContext(ctx,
		`UPDATE mail_outbox SET next_attempt_at = $2, last_error = $3 WHERE id = $1`, id, ts(next), reason)
	return s.translate("record mail retry", err)
}

// MailFailed records that message id is given up.
func (s *Store) MailFailed(ctx context.Context, id uuid.UUID, now time.Time, reason string) error {
	_, err := s.q(ctx).ExecContext(ctx,
		`UPDATE mail_outbox SET failed_at = $2, last_error = $3, `+erasedBodies+` WHERE id = $1`, id, ts(now), reason)
	return s.translate("record mail failure", err)
}

// OldestDueMail returns since when the longest-waiting due message has been
// due, and whether there is one: through the due index, one row.
func (s *Store) OldestDueMail(ctx context.Context, now time.Time) (time.Time, bool, error) {
	var due dbTime
	err := s.scanRow(ctx, oldestDueMailSQL, []any{ts(now)}, &due)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, s.translate("oldest due mail", err)
	}
	return due.Time, true, nil
}

const oldestDueMailSQL = `SELECT next_attempt_at FROM mail_outbox
	WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT 1`

// DeleteOldMail removes finished messages (sent or given up) created
// before cutoff, in batches through the created_at index.
func (s *Store) DeleteOldMail(ctx context.Context, cutoff time.Time) (int64, error) {
	return s.deleteInBatches(ctx, "delete old mail", s.purgeMail(), ts(cutoff))
}

func (s *Store) purgeMail() string {
	return s.batchDelete("mail_outbox", "id", "created_at < $1 AND (sent_at IS NOT NULL OR failed_at IS NOT NULL)", "created_at")
}

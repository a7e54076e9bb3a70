package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/onetime"
)

// InsertRecoveryRequest stores a recovery request, due at once.
func (s *Store) InsertRecoveryRequest(ctx context.Context, r onetime.RecoveryRequest) error {
	_, err := s.q(ctx).ExecContext(ctx, insertRecoveryRequestSQL,
		r.ID, r.Email, r.Source.IP, r.Source.UserAgent, r.Source.RequestID, ts(r.CreatedAt))
	return s.translate("insert recovery request", err)
}

const insertRecoveryRequestSQL = `INSERT INTO recovery_requests (id, email, ip, user_agent, request_id, created_at, due_at)
	VALUES ($1, $2, $3, $4, $5, $6, $6)`

// claimRecoveryRequestsSQL takes up to $3 due requests ($1 now) for the
// worker, leased until $2: each claim counts, and moves the request's due
// time to the lease's end, so that a replica that dies mid-work leaves it
// due again then and no other replica takes it meanwhile (PostgreSQL's
// claimers pass over each other's rows; SQLite has one writer at a time).
func (s *Store) claimRecoveryRequestsSQL() string {
	due := `SELECT id FROM recovery_requests WHERE due_at <= $1 ORDER BY due_at LIMIT $3` + s.d.SkipLocked
	return `UPDATE recovery_requests SET attempts = attempts + 1, due_at = $2
		WHERE id ` + fmt.Sprintf(s.d.InSubquery, due) + `
		RETURNING id, email, ip, user_agent, request_id, created_at, attempts`
}

// ClaimRecoveryRequests takes up to limit due recovery requests for the
// worker, leased for lease from now.
func (s *Store) ClaimRecoveryRequests(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]onetime.RecoveryRequest, error) {
	var rows []struct {
		ID        uuid.UUID `db:"id"`
		Email     []byte    `db:"email"`
		IP        string    `db:"ip"`
		UserAgent string    `db:"user_agent"`
		RequestID string    `db:"request_id"`
		CreatedAt dbTime    `db:"created_at"`
		Attempts  int       `db:"attempts"`
	}
	if err := s.q(ctx).SelectContext(ctx, &rows, s.claimRecoveryRequestsSQL(), ts(now), ts(now.Add(lease)), limit); err != nil {
		return nil, s.translate("claim recovery requests", err)
	}
	out := make([]onetime.RecoveryRequest, len(rows))
	for i, r := range rows {
		out[i] = onetime.RecoveryRequest{ID: r.ID, Email: r.Email, CreatedAt: r.CreatedAt.Time, Attempts: r.Attempts,
			Source: audit.Source{IP: r.IP, UserAgent: r.UserAgent, RequestID: r.RequestID}}
	}
	return out, nil
}

// DeleteRecoveryRequest deletes request id if the claim that counted
// attempts still holds it, and reports whether it did: false when another
// worker has claimed it since (this claim's lease ended) or done it. In the
// transaction that does the request's work, first, it locks the row, so
// that of two workers holding one request only one commits.
func (s *Store) DeleteRecoveryRequest(ctx context.Context, id uuid.UUID, attempts int) (bool, error) {
	n, err := s.execCount(ctx, "delete recovery request", deleteRecoveryRequestSQL, id, attempts)
	return n == 1, err
}

const deleteRecoveryRequestSQL = `DELETE FROM recovery_requests WHERE id = $1 AND attempts = $2`

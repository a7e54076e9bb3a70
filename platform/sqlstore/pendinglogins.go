package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/session"
)

// The pending logins' queries: each finds its rows by the primary key or
// pending_logins_user_id_idx.
const (
	countPendingAttemptSQL = `UPDATE pending_logins SET attempts = attempts + 1
		WHERE id = $1 AND expires_at > $2 AND attempts < $3
		RETURNING user_id, verified_hash, method, created_at, expires_at, attempts, user_agent, ip`
	pendingLoginSQL            = `SELECT user_id, verified_hash, method, created_at, expires_at, attempts FROM pending_logins WHERE id = $1 AND expires_at > $2`
	deletePendingLoginSQL      = `DELETE FROM pending_logins WHERE id = $1`
	deleteUserPendingLoginsSQL = `DELETE FROM pending_logins WHERE user_id = $1`
)

// InsertPendingLogin stores a pending login.
func (s *Store) InsertPendingLogin(ctx context.Context, p session.Pending) error {
	_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO pending_logins (id, user_id, verified_hash, method, created_at, expires_at, user_agent, ip)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, p.ID, p.UserID, p.VerifiedHash, p.Method, ts(p.CreatedAt), ts(p.ExpiresAt), p.UserAgent, p.IP)
	return s.translate("insert pending login", err)
}

// CountPendingAttempt counts one second step of the pending login id, if
// it is live at now and has had fewer than max, and returns it: counted
// before the code is checked, so no more than max codes are ever checked
// however many arrive at once. session.ErrNotFound when there is no such
// pending login, or it has had its max.
func (s *Store) CountPendingAttempt(ctx context.Context, id []byte, now time.Time, max int) (session.Pending, error) {
	var r struct {
		UserID       uuid.UUID `db:"user_id"`
		VerifiedHash string    `db:"verified_hash"`
		Method       string    `db:"method"`
		CreatedAt    dbTime    `db:"created_at"`
		ExpiresAt    dbTime    `db:"expires_at"`
		Attempts     int       `db:"attempts"`
		UserAgent    string    `db:"user_agent"`
		IP           string    `db:"ip"`
	}
	err := s.translate("count pending attempt", s.q(ctx).GetContext(ctx, &r, countPendingAttemptSQL, id, ts(now), max))
	if errors.Is(err, sql.ErrNoRows) {
		return session.Pending{}, session.ErrNotFound
	}
	if err != nil {
		return session.Pending{}, err
	}
	return session.Pending{ID: id, UserID: r.UserID, VerifiedHash: r.VerifiedHash, Method: r.Method, CreatedAt: r.CreatedAt.Time, ExpiresAt: r.ExpiresAt.Time,
		Attempts: r.Attempts, UserAgent: r.UserAgent, IP: r.IP}, nil
}

// PendingLogin returns the pending login id while it is live at now;
// session.ErrNotFound otherwise.
func (s *Store) PendingLogin(ctx context.Context, id []byte, now time.Time) (session.Pending, error) {
	var r struct {
		UserID       uuid.UUID `db:"user_id"`
		VerifiedHash string    `db:"verified_hash"`
		Method       string    `db:"method"`
		CreatedAt    dbTime    `db:"created_at"`
		ExpiresAt    dbTime    `db:"expires_at"`
		Attempts     int       `db:"attempts"`
	}
	err := s.translate("pending login", s.q(ctx).GetContext(ctx, &r, pendingLoginSQL, id, ts(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return session.Pending{}, session.ErrNotFound
	}
	if err != nil {
		return session.Pending{}, err
	}
	return session.Pending{ID: id, UserID: r.UserID, VerifiedHash: r.VerifiedHash, Method: r.Method, CreatedAt: r.CreatedAt.Time, ExpiresAt: r.ExpiresAt.Time, Attempts: r.Attempts}, nil
}

// DeletePendingLogin ends a pending login and reports whether it was
// there: of two second steps that both passed, one makes the session.
func (s *Store) DeletePendingLogin(ctx context.Context, id []byte) (bool, error) {
	n, err := s.execCount(ctx, "delete pending login", deletePendingLoginSQL, id)
	return n == 1, err
}

// DeleteUserPendingLogins ends every pending login of a user.
func (s *Store) DeleteUserPendingLogins(ctx context.Context, userID uuid.UUID) error {
	_, err := s.q(ctx).ExecContext(ctx, deleteUserPendingLoginsSQL, userID)
	return s.translate("delete user pending logins", err)
}

// DeleteExpiredPendingLogins removes pending logins over at now, in
// batches through the expires_at index.
func (s *Store) DeleteExpiredPendingLogins(ctx context.Context, now time.Time) (int64, error) {
	return s.deleteInBatches(ctx, "delete expired pending logins", s.purgePendingLogins(), ts(now))
}

func (s *Store) purgePendingLogins() string {
	return s.batchDelete("pending_logins", "id", "expires_at <= $1", "expires_at")
}

package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// InsertSession stores a new session.
func (s *Store) InsertSession(ctx context.Context, ss session.Session) error {
	_, err := s.q(ctx).ExecContext(ctx,
		`INSERT INTO sessions (id, user_id, created_at, expires_at, absolute_expires_at, last_seen_at)
		 VALUES ($1, $2, $3, $4, $5, $6)`,
		ss.ID, ss.UserID, ts(ss.CreatedAt), ts(ss.ExpiresAt), ts(ss.AbsoluteExpiresAt), ts(ss.LastSeenAt))
	return s.translate("insert session", err)
}

// InsertSessionIfActive stores a new session only if its user exists and
// is active, in one statement that locks the user's row: an inactivation
// racing with it either waits and then deletes the new session, or commits
// first and nothing is stored. It reports whether the session was stored.
func (s *Store) InsertSessionIfActive(ctx context.Context, ss session.Session) (bool, error) {
	n, err := s.execCount(ctx, "insert session",
		`INSERT INTO sessions (id, user_id, created_at, expires_at, absolute_expires_at, last_seen_at)
		 SELECT $1, id, $3, $4, $5, $6 FROM users WHERE id = $2 AND is_active`+s.d.ForUpdate,
		ss.ID, ss.UserID, ts(ss.CreatedAt), ts(ss.ExpiresAt), ts(ss.AbsoluteExpiresAt), ts(ss.LastSeenAt))
	return n == 1, err
}

type sessionUserRow struct {
	ID                []byte `db:"session_id"`
	CreatedAt         dbTime `db:"session_created_at"`
	ExpiresAt         dbTime `db:"expires_at"`
	AbsoluteExpiresAt dbTime `db:"absolute_expires_at"`
	LastSeenAt        dbTime `db:"last_seen_at"`
	userRow
}

// SessionWithUser loads a session and its user in one query: the
// authenticated request's only database round trip.
func (s *Store) SessionWithUser(ctx context.Context, id []byte) (session.Session, user.User, error) {
	var r sessionUserRow
	err := s.translate("session with user", s.q(ctx).GetContext(ctx, &r,
		`SELECT s.id AS session_id, s.created_at AS session_created_at, s.expires_at, s.absolute_expires_at, s.last_seen_at,
		        u.id, u.username, u.password_hash, u.role, u.is_active, u.created_at, u.updated_at
		 FROM sessions s JOIN users u ON u.id = s.user_id
		 WHERE s.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return session.Session{}, user.User{}, session.ErrNotFound
	}
	if err != nil {
		return session.Session{}, user.User{}, err
	}
	u := r.user()
	return session.Session{
		ID:                r.ID,
		UserID:            u.ID,
		CreatedAt:         r.CreatedAt.Time,
		ExpiresAt:         r.ExpiresAt.Time,
		AbsoluteExpiresAt: r.AbsoluteExpiresAt.Time,
		LastSeenAt:        r.LastSeenAt.Time,
	}, u, nil
}

// ExtendSession moves a session's expiry.
func (s *Store) ExtendSession(ctx context.Context, id []byte, expiresAt, lastSeenAt time.Time) error {
	_, err := s.q(ctx).ExecContext(ctx, `UPDATE sessions SET expires_at = $2, last_seen_at = $3 WHERE id = $1`,
		id, ts(expiresAt), ts(lastSeenAt))
	return s.translate("extend session", err)
}

// DeleteSession removes one session; a missing one is not an error.
func (s *Store) DeleteSession(ctx context.Context, id []byte) error {
	_, err := s.q(ctx).ExecContext(ctx, `DELETE FROM sessions WHERE id = $1`, id)
	return s.translate("delete session", err)
}

// DeleteUserSessions removes every session of a user.
func (s *Store) DeleteUserSessions(ctx context.Context, userID uuid.UUID) error {
	_, err := s.q(ctx).ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	return s.translate("delete user sessions", err)
}

// DeleteExpiredSessions removes the sessions over at now and returns how
// many, in batches through the expires_at index. A session never expires
// past its absolute expiry (extensions stop there), so expires_at alone
// decides.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	return s.deleteInBatches(ctx, "delete expired sessions", s.purgeSessions(), ts(now))
}

// PurgeBatch is how many rows one purge statement deletes. Each batch is its
// own short transaction: on SQLite no batch holds the write lock for more
// than a few milliseconds, on PostgreSQL no long transaction builds up.
const PurgeBatch = 250

func (s *Store) purgeSessions() string {
	return s.batchDelete("sessions", "id", "expires_at <= $1")
}

// batchDelete returns a DELETE of at most $2 rows of table matching where,
// found through the index of where and deleted by the primary key.
func (s *Store) batchDelete(table, key, where string) string {
	return `DELETE FROM ` + table + ` WHERE ` + key + ` ` +
		fmt.Sprintf(s.d.InSubquery, `SELECT `+key+` FROM `+table+` WHERE `+where+` LIMIT $2`)
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

func (s *Store) execCount(ctx context.Context, op, query string, args ...any) (int64, error) {
	res, err := s.q(ctx).ExecContext(ctx, query, args...)
	if err != nil {
		return 0, s.translate(op, err)
	}
	n, err := res.RowsAffected()
	return n, s.translate(op, err)
}

// SessionCount counts a user's sessions.
func (s *Store) SessionCount(ctx context.Context, userID uuid.UUID) (int, error) {
	var n int
	err := s.q(ctx).GetContext(ctx, &n, `SELECT count(*) FROM sessions WHERE user_id = $1`, userID)
	return n, s.translate("count sessions", err)
}

// UpdatePasswordHash replaces a user's password hash.
func (s *Store) UpdatePasswordHash(ctx context.Context, userID uuid.UUID, hash string, updatedAt time.Time) error {
	return s.updateUser(ctx, "update password hash",
		`UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1`, userID, hash, ts(updatedAt))
}

// SetUserActive activates or inactivates a user.
func (s *Store) SetUserActive(ctx context.Context, userID uuid.UUID, active bool, updatedAt time.Time) error {
	return s.updateUser(ctx, "set user active",
		`UPDATE users SET is_active = $2, updated_at = $3 WHERE id = $1`, userID, active, ts(updatedAt))
}

// updateUser runs an UPDATE of one user row; no row is user.ErrNotFound.
func (s *Store) updateUser(ctx context.Context, op, query string, userID uuid.UUID, args ...any) error {
	n, err := s.execCount(ctx, op, query, append([]any{userID}, args...)...)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s %s: %w", op, userID, user.ErrNotFound)
	}
	return nil
}

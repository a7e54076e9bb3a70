package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

const insertSessionSQL = `INSERT INTO sessions (id, user_id, created_at, expires_at, absolute_expires_at, last_seen_at, public_id, user_agent, ip, aal, methods)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`

// InsertSession stores a new session.
func (s *Store) InsertSession(ctx context.Context, ss session.Session) error {
	_, err := s.q(ctx).ExecContext(ctx, insertSessionSQL, sessionArgs(ss)...)
	return s.translate("insert session", err)
}

// sessionArgs are the parameters $1-$11 of a session's insert.
func sessionArgs(ss session.Session) []any {
	return []any{ss.ID, ss.UserID, ts(ss.CreatedAt), ts(ss.ExpiresAt), ts(ss.AbsoluteExpiresAt), ts(ss.LastSeenAt), nullID(ss.PublicID),
		ss.UserAgent, ss.IP, max(ss.AAL, 1), methodsText(ss.Methods)}
}

// methodsText is how a session's methods are stored: space-separated;
// none is a password alone.
func methodsText(methods []string) string {
	if len(methods) == 0 {
		return mfa.MethodPassword
	}
	return strings.Join(methods, " ")
}

// InsertSessionIfCurrent stores a new session only if its user exists, is
// active and still has the password hash the login verified, and, for a
// session made with one factor (aal 1), has no second factor; in one
// statement that locks the user's row: an inactivation, a password change
// or a first factor's enrollment (which updates users.second_factor, see
// migration 000027) racing with it either waits and then deletes the new
// session, or commits first and nothing is stored. It reports whether the
// session was stored.
func (s *Store) InsertSessionIfCurrent(ctx context.Context, ss session.Session, passwordHash string) (bool, error) {
	n, err := s.execCount(ctx, "insert session", s.insertSessionIfCurrentSQL(), append(sessionArgs(ss), passwordHash)...)
	return n == 1, err
}

func (s *Store) insertSessionIfCurrentSQL() string {
	return `INSERT INTO sessions (id, user_id, created_at, expires_at, absolute_expires_at, last_seen_at, public_id, user_agent, ip, aal, methods)
		 SELECT $1, id, $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM users WHERE id = $2 AND is_active AND password_hash = $12
		   AND (NOT second_factor OR $10 >= CAST(2 AS smallint))` + s.d.ForUpdate
}

// sessionRow is one row of a session-with-user query, scanned field by
// field (no reflection).
type sessionRow struct {
	ss                               session.Session
	u                                user.User
	role                             string
	created, expires, absolute, seen dbTime
	userCreated, userUpdated         dbTime
	email                            sql.NullString
	emailVerified                    dbTime
	methods                          string
}

// sessionColumns are what sessionRow scans.
const sessionColumns = `s.id, s.created_at, s.expires_at, s.absolute_expires_at, s.last_seen_at, s.aal, s.methods,
		        u.id, u.username, u.password_hash, u.role, u.is_active, u.created_at, u.updated_at, u.email, u.email_verified_at, u.second_factor`

// sessionSQL reads the sessions where cond holds and their users, each
// user by an index probe (Dialect.JoinByKey): as a plain join, PostgreSQL
// planned one session, and 64, among 20,000 users as a merge join reading
// users_pkey from its start.
func sessionSQL(d Dialect, cond string) string {
	return `SELECT ` + sessionColumns + `
		 FROM sessions s ` + fmt.Sprintf(d.JoinByKey, "users", "u", "u.id = s.user_id") + ` WHERE ` + cond
}

// key is the id a lookup finds r by.
func (r *sessionRow) key() []byte { return r.ss.ID }

func (r *sessionRow) dest() []any {
	return []any{&r.ss.ID, &r.created, &r.expires, &r.absolute, &r.seen, &r.ss.AAL, &r.methods,
		&r.u.ID, &r.u.Username, &r.u.PasswordHash, &r.role, &r.u.IsActive, &r.userCreated, &r.userUpdated, &r.email, &r.emailVerified, &r.u.SecondFactor}
}

func (r *sessionRow) result() (session.Session, user.User) {
	ss, u := r.ss, r.u
	u.Role, u.CreatedAt, u.UpdatedAt = user.Role(r.role), r.userCreated.Time, r.userUpdated.Time
	u.Email, u.EmailVerifiedAt = r.email.String, r.emailVerified.Time
	ss.Methods = strings.Fields(r.methods)
	ss.UserID, ss.CreatedAt, ss.ExpiresAt, ss.AbsoluteExpiresAt, ss.LastSeenAt = u.ID, r.created.Time, r.expires.Time, r.absolute.Time, r.seen.Time
	return ss, u
}

// SessionWithUser loads a session and its user in one query: the
// authenticated request's only database round trip, scanned field by
// field (no reflection).
func (s *Store) SessionWithUser(ctx context.Context, id []byte) (session.Session, user.User, error) {
	var r sessionRow
	var err error
	if _, tx := inTx(ctx); tx || s.lookups == nil {
		err = s.scanRow(ctx, s.sessionByID, []any{id}, r.dest()...)
	} else {
		r, err = s.lookups.get(ctx, id)
	}
	err = s.translate("session with user", err)
	if errors.Is(err, sql.ErrNoRows) {
		return session.Session{}, user.User{}, session.ErrNotFound
	}
	if err != nil {
		return session.Session{}, user.User{}, err
	}
	ss, u := r.result()
	return ss, u, nil
}

// SessionExists reports whether a session is still stored (not ended).
func (s *Store) SessionExists(ctx context.Context, id []byte) (bool, error) {
	var ok bool
	err := s.scanRow(ctx, `SELECT EXISTS (SELECT 1 FROM sessions WHERE id = $1)`, []any{id}, &ok)
	return ok, s.translate("session exists", err)
}

// ExtendSession moves a session's expiry.
func (s *Store) ExtendSession(ctx context.Context, id []byte, expiresAt, lastSeenAt time.Time) error {
	_, err := s.q(ctx).ExecContext(ctx, `UPDATE sessions SET expires_at = $2, last_seen_at = $3 WHERE id = $1`,
		id, ts(expiresAt), ts(lastSeenAt))
	return s.translate("extend session", err)
}

// DeleteSession removes one session and reports how many went (0 when it
// was already gone).
func (s *Store) DeleteSession(ctx context.Context, id []byte) (int, error) {
	n, err := s.execCount(ctx, "delete session", `DELETE FROM sessions WHERE id = $1`, id)
	return int(n), err
}

// DeleteUserSessions removes every session of a user and reports how many.
func (s *Store) DeleteUserSessions(ctx context.Context, userID uuid.UUID) (int, error) {
	n, err := s.execCount(ctx, "delete user sessions", `DELETE FROM sessions WHERE user_id = $1`, userID)
	return int(n), err
}

// The per-user session queries. Each reads a user's sessions through
// sessions_user_id_idx (or one row through sessions_public_id_key): at most
// auth.max_sessions_per_user live rows, so sorting them costs nothing.
const (
	userSessionsSQL = `SELECT id, public_id, created_at, expires_at, absolute_expires_at, last_seen_at, user_agent, ip, aal, methods
		FROM sessions WHERE user_id = $1 AND expires_at > $2
		ORDER BY last_seen_at DESC, created_at DESC`
	deleteUserSessionSQL    = `DELETE FROM sessions WHERE public_id = $2 AND user_id = $1 RETURNING id`
	deleteOtherSessionsSQL  = `DELETE FROM sessions WHERE user_id = $1 AND id <> $2`
	deleteOldestSessionsSQL = `DELETE FROM sessions WHERE user_id = $1 AND id NOT IN
		(SELECT id FROM sessions WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2)`
)

// DeleteUserSession removes the session with public id publicID if it is
// userID's and returns its id; another user's session is as absent as an
// unknown one: session.ErrNotFound.
func (s *Store) DeleteUserSession(ctx context.Context, userID, publicID uuid.UUID) ([]byte, error) {
	var id []byte
	err := s.translate("delete user session", s.q(ctx).GetContext(ctx, &id,
		deleteUserSessionSQL, userID, publicID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, session.ErrNotFound
	}
	return id, err
}

// DeleteOtherSessions removes every session of userID but keep, and
// reports how many.
func (s *Store) DeleteOtherSessions(ctx context.Context, userID uuid.UUID, keep []byte) (int, error) {
	n, err := s.execCount(ctx, "delete other sessions", deleteOtherSessionsSQL, userID, keep)
	return int(n), err
}

// DeleteOldestSessions removes userID's sessions beyond the newest keep
// (by creation) and reports how many: the per-user session limit.
func (s *Store) DeleteOldestSessions(ctx context.Context, userID uuid.UUID, keep int) (int, error) {
	n, err := s.execCount(ctx, "delete oldest sessions", deleteOldestSessionsSQL, userID, keep)
	return int(n), err
}

// UserSessions returns userID's sessions live at now, the most recently
// seen first. A user has at most auth.max_sessions_per_user of them, so
// the list is short.
func (s *Store) UserSessions(ctx context.Context, userID uuid.UUID, now time.Time) ([]session.Session, error) {
	var rows []struct {
		ID                []byte        `db:"id"`
		PublicID          uuid.NullUUID `db:"public_id"`
		CreatedAt         dbTime        `db:"created_at"`
		ExpiresAt         dbTime        `db:"expires_at"`
		AbsoluteExpiresAt dbTime        `db:"absolute_expires_at"`
		LastSeenAt        dbTime        `db:"last_seen_at"`
		UserAgent         string        `db:"user_agent"`
		IP                string        `db:"ip"`
		AAL               int           `db:"aal"`
		Methods           string        `db:"methods"`
	}
	err := s.q(ctx).SelectContext(ctx, &rows, userSessionsSQL, userID, ts(now))
	if err != nil {
		return nil, s.translate("user sessions", err)
	}
	out := make([]session.Session, len(rows))
	for i, r := range rows {
		out[i] = session.Session{ID: r.ID, PublicID: r.PublicID.UUID, UserID: userID, CreatedAt: r.CreatedAt.Time,
			ExpiresAt: r.ExpiresAt.Time, AbsoluteExpiresAt: r.AbsoluteExpiresAt.Time, LastSeenAt: r.LastSeenAt.Time,
			UserAgent: r.UserAgent, IP: r.IP, AAL: r.AAL, Methods: strings.Fields(r.Methods)}
	}
	return out, nil
}

// DeleteExpiredSessions removes the sessions over at now and returns how
// many, in batches through the expires_at index. A session never expires
// past its absolute expiry (extensions stop there), so expires_at alone
// decides.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	return s.deleteInBatches(ctx, "delete expired sessions", s.purgeSessions(), ts(now))
}

func (s *Store) purgeSessions() string {
	return s.batchDelete("sessions", "id", "expires_at <= $1", "")
}

// SessionCount counts a user's sessions.
func (s *Store) SessionCount(ctx context.Context, userID uuid.UUID) (int, error) {
	var n int
	err := s.q(ctx).GetContext(ctx, &n, `SELECT count(*) FROM sessions WHERE user_id = $1`, userID)
	return n, s.translate("count sessions", err)
}

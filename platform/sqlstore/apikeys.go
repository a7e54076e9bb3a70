package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/user"
)

// The API keys' queries. A request with a key reads its row and its user
// by the primary keys (apiKeySQL); a user's keys are read, counted and
// revoked through api_keys_user_id_idx (at most apikey.MaxPerUser live
// ones, and the expired ones the purge has not reached yet).
const (
	apiKeyColumns = `k.id, k.scope, k.secret_hash, k.expires_at, k.last_used_at,
		        u.id, u.username, u.password_hash, u.role, u.is_active, u.created_at, u.updated_at, u.email, u.email_verified_at`
	userAPIKeysSQL = `SELECT id, user_id, name, scope, created_at, expires_at, last_used_at, last_used_ip
		FROM api_keys WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC, id DESC`
	liveAPIKeysSQL      = `SELECT count(*) FROM api_keys WHERE user_id = $1 AND expires_at > $2`
	deleteUserAPIKeySQL = `DELETE FROM api_keys WHERE id = $2 AND user_id = $1`
	deleteAPIKeysSQL    = `DELETE FROM api_keys WHERE user_id = $1`
	// A use is written once a minute at most, by one of the requests (on
	// any replica) that find it due: the others change nothing.
	useAPIKeySQL = `UPDATE api_keys SET last_used_at = $2, last_used_ip = $3, secret_hash = COALESCE($5, secret_hash)
		WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $4)`
	apiKeysUnderKeySQL = `SELECT count(*) FROM api_keys WHERE substr(secret_hash, 1, 8) = $1`
	// The mfa key ids API keys' hashes need, one index probe each (see
	// totpKeyIDsSQL).
	apiKeyKeyIDsSQL = `WITH RECURSIVE ids(id) AS (
		SELECT (SELECT substr(secret_hash, 1, 8) FROM api_keys WHERE substr(secret_hash, 1, 8) > '' ORDER BY substr(secret_hash, 1, 8) LIMIT 1)
		UNION ALL
		SELECT (SELECT substr(secret_hash, 1, 8) FROM api_keys WHERE substr(secret_hash, 1, 8) > ids.id ORDER BY substr(secret_hash, 1, 8) LIMIT 1)
		FROM ids WHERE ids.id IS NOT NULL)
		SELECT id FROM ids WHERE id IS NOT NULL`
)

// apiKeySQL reads a key and its user, the user by an index probe (see
// sessionSQL).
func apiKeySQL(d Dialect) string {
	return `SELECT ` + apiKeyColumns + `
		 FROM api_keys k ` + fmt.Sprintf(d.JoinByKey, "users", "u", "u.id = k.user_id") + ` WHERE k.id = $1`
}

// insertAPIKeySQL stores a key only while its user is active, under the
// user's row lock: an inactivation racing with the creation either waits
// and then revokes the new key, or wins, and nothing is stored.
func (s *Store) insertAPIKeySQL() string {
	return `INSERT INTO api_keys (id, user_id, name, scope, secret_hash, created_at, expires_at)
		SELECT $1, id, $3, $4, $5, $6, $7 FROM users WHERE id = $2 AND is_active` + s.d.ForUpdate
}

// InsertAPIKey stores a new key if its user is active, and reports whether
// it did.
func (s *Store) InsertAPIKey(ctx context.Context, k apikey.Key) (bool, error) {
	n, err := s.execCount(ctx, "insert api key", s.insertAPIKeySQL(),
		k.ID, k.UserID, k.Name, string(k.Scope), k.Hash, ts(k.CreatedAt), ts(k.ExpiresAt))
	return n == 1, err
}

// APIKeyWithUser loads a key and its user in one query: the only database
// round trip of a request made with a key (but for its use, written once
// a minute). apikey.ErrNotFound when there is no such key.
func (s *Store) APIKeyWithUser(ctx context.Context, id uuid.UUID) (apikey.Key, user.User, error) {
	var (
		k                             apikey.Key
		u                             user.User
		scope, role                   string
		expires, used, uCreated, uUpd dbTime
		email                         sql.NullString
		verified                      dbTime
	)
	err := s.translate("api key with user", s.scanRow(ctx, s.apiKeyByID, []any{id},
		&k.ID, &scope, &k.Hash, &expires, &used,
		&u.ID, &u.Username, &u.PasswordHash, &role, &u.IsActive, &uCreated, &uUpd, &email, &verified))
	if errors.Is(err, sql.ErrNoRows) {
		return apikey.Key{}, user.User{}, apikey.ErrNotFound
	}
	if err != nil {
		return apikey.Key{}, user.User{}, err
	}
	k.UserID, k.Scope, k.ExpiresAt, k.LastUsedAt = u.ID, apikey.Scope(scope), expires.Time, used.Time
	u.Role, u.CreatedAt, u.UpdatedAt, u.Email, u.EmailVerifiedAt = user.Role(role), uCreated.Time, uUpd.Time, email.String, verified.Time
	return k, u, nil
}

// UseAPIKey records a use of key id at now from ip, unless one was
// recorded less than apikey.UseInterval before (by any replica), and
// stores rehash as its hash when it is not nil (one made with a previous
// mfa key, made again).
func (s *Store) UseAPIKey(ctx context.Context, id uuid.UUID, now time.Time, ip string, rehash []byte) error {
	_, err := s.q(ctx).ExecContext(ctx, useAPIKeySQL, id, ts(now), ip, ts(now.Add(-apikey.UseInterval)), rehash)
	return s.translate("use api key", err)
}

// UserAPIKeys returns userID's keys live at now, the newest first.
func (s *Store) UserAPIKeys(ctx context.Context, userID uuid.UUID, now time.Time) ([]apikey.Key, error) {
	var rows []struct {
		ID         uuid.UUID `db:"id"`
		UserID     uuid.UUID `db:"user_id"`
		Name       string    `db:"name"`
		Scope      string    `db:"scope"`
		CreatedAt  dbTime    `db:"created_at"`
		ExpiresAt  dbTime    `db:"expires_at"`
		LastUsedAt dbTime    `db:"last_used_at"`
		LastUsedIP string    `db:"last_used_ip"`
	}
	if err := s.q(ctx).SelectContext(ctx, &rows, userAPIKeysSQL, userID, ts(now)); err != nil {
		return nil, s.translate("user api keys", err)
	}
	out := make([]apikey.Key, len(rows))
	for n, r := range rows {
		out[n] = apikey.Key{ID: r.ID, UserID: r.UserID, Name: r.Name, Scope: apikey.Scope(r.Scope), CreatedAt: r.CreatedAt.Time,
			ExpiresAt: r.ExpiresAt.Time, LastUsedAt: r.LastUsedAt.Time, LastUsedIP: r.LastUsedIP}
	}
	return out, nil
}

// LiveAPIKeys counts userID's keys live at now.
func (s *Store) LiveAPIKeys(ctx context.Context, userID uuid.UUID, now time.Time) (int, error) {
	var n int
	err := s.q(ctx).GetContext(ctx, &n, liveAPIKeysSQL, userID, ts(now))
	return n, s.translate("count live api keys", err)
}

// DeleteUserAPIKey revokes userID's key id; another user's key is as
// absent as an unknown one: apikey.ErrNotFound.
func (s *Store) DeleteUserAPIKey(ctx context.Context, userID, id uuid.UUID) error {
	n, err := s.execCount(ctx, "delete api key", deleteUserAPIKeySQL, userID, id)
	if err == nil && n == 0 {
		return apikey.ErrNotFound
	}
	return err
}

// DeleteUserAPIKeys revokes every key of userID and reports how many.
func (s *Store) DeleteUserAPIKeys(ctx context.Context, userID uuid.UUID) (int, error) {
	n, err := s.execCount(ctx, "delete user api keys", deleteAPIKeysSQL, userID)
	return int(n), err
}

func (s *Store) purgeAPIKeys() string {
	return s.batchDelete("api_keys", "id", "expires_at <= $1", "expires_at")
}

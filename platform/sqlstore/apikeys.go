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
// by the primary keys (apiKeySQL; concurrent ones share a query, as
// sessions' do: see lookups); a user's keys are read, counted and revoked
// through api_keys_user_id_idx (at most apikey.MaxPerUser live ones, and
// the expired ones the purge has not reached yet). A key's id is stored
// as its 16 bytes, so that a batch of ids is the dialect's IDList.
const (
	apiKeyColumns = `k.id, k.scope, k.secret_hash, k.expires_at, k.last_used_at,
		        u.id, u.username, u.password_hash, u.role, u.is_active, u.created_at, u.updated_at, u.email, u.email_verified_at, u.second_factor`
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

// apiKeySQL reads the keys where cond holds and their users, each user by
// an index probe (see sessionSQL).
func apiKeySQL(d Dialect, cond string) string {
	return `SELECT ` + apiKeyColumns + `
		 FROM api_keys k ` + fmt.Sprintf(d.JoinByKey, "users", "u", "u.id = k.user_id") + ` WHERE ` + cond
}

// apiKeyRow is one row of a key-with-user query, scanned field by field
// (no reflection).
type apiKeyRow struct {
	id, hash                        []byte
	u                               user.User
	scope, role                     string
	expires, used, created, updated dbTime
	email                           sql.NullString
	verified                        dbTime
}

func (r *apiKeyRow) dest() []any {
	return []any{&r.id, &r.scope, &r.hash, &r.expires, &r.used,
		&r.u.ID, &r.u.Username, &r.u.PasswordHash, &r.role, &r.u.IsActive, &r.created, &r.updated, &r.email, &r.verified, &r.u.SecondFactor}
}

// key is the id a lookup finds r by.
func (r *apiKeyRow) key() []byte { return r.id }

func (r *apiKeyRow) result() (apikey.Key, user.User) {
	u := r.u
	u.Role, u.CreatedAt, u.UpdatedAt, u.Email, u.EmailVerifiedAt = user.Role(r.role), r.created.Time, r.updated.Time, r.email.String, r.verified.Time
	k := apikey.Key{ID: uuid.FromBytesOrNil(r.id), UserID: u.ID, Scope: apikey.Scope(r.scope), Hash: r.hash, ExpiresAt: r.expires.Time, LastUsedAt: r.used.Time}
	return k, u
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
		k.ID.Bytes(), k.UserID, k.Name, string(k.Scope), k.Hash, ts(k.CreatedAt), ts(k.ExpiresAt))
	return n == 1, err
}

// APIKeyWithUser loads a key and its user in one query: the only database
// round trip of a request made with a key (but for its use, written once
// a minute). apikey.ErrNotFound when there is no such key.
func (s *Store) APIKeyWithUser(ctx context.Context, id uuid.UUID) (apikey.Key, user.User, error) {
	var r apiKeyRow
	var err error
	if _, tx := inTx(ctx); tx || s.keyLookups == nil {
		err = s.scanRow(ctx, s.apiKeyByID, []any{id.Bytes()}, r.dest()...)
	} else {
		r, err = s.keyLookups.get(ctx, id.Bytes())
	}
	err = s.translate("api key with user", err)
	if errors.Is(err, sql.ErrNoRows) {
		return apikey.Key{}, user.User{}, apikey.ErrNotFound
	}
	if err != nil {
		return apikey.Key{}, user.User{}, err
	}
	k, u := r.result()
	return k, u, nil
}

// UseAPIKey records a use of key id at now from ip, unless one was
// recorded less than apikey.UseInterval before (by any replica), and
// stores rehash as its hash when it is not nil (one made with a previous
// mfa key, made again).
func (s *Store) UseAPIKey(ctx context.Context, id uuid.UUID, now time.Time, ip string, rehash []byte) error {
	_, err := s.q(ctx).ExecContext(ctx, useAPIKeySQL, id.Bytes(), ts(now), ip, ts(now.Add(-apikey.UseInterval)), rehash)
	return s.translate("use api key", err)
}

// UserAPIKeys returns userID's keys live at now, the newest first.
func (s *Store) UserAPIKeys(ctx context.Context, userID uuid.UUID, now time.Time) ([]apikey.Key, error) {
	var rows []struct {
		ID         []byte    `db:"id"`
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
		out[n] = apikey.Key{ID: uuid.FromBytesOrNil(r.ID), UserID: r.UserID, Name: r.Name, Scope: apikey.Scope(r.Scope), CreatedAt: r.CreatedAt.Time,
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
	n, err := s.execCount(ctx, "delete api key", deleteUserAPIKeySQL, userID, id.Bytes())
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

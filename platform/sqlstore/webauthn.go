package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/mfa"
)

// The WebAuthn queries: each finds its rows by a primary key, a unique key
// (a handle, a public id) or webauthn_credentials_user_id_idx.
const (
	handleSQL       = `SELECT handle FROM webauthn_users WHERE user_id = $1`
	userByHandleSQL = `SELECT user_id FROM webauthn_users WHERE handle = $1`
	passkeysSQL     = `SELECT id, public_id, user_id, name, credential, sign_count, created_at, last_used_at
		FROM webauthn_credentials WHERE user_id = $1 ORDER BY created_at, id`
	usePasskeySQL = `UPDATE webauthn_credentials SET credential = $2, sign_count = $3, last_used_at = $4
		WHERE id = $1 AND sign_count = $5`
	deletePasskeySQL  = `DELETE FROM webauthn_credentials WHERE public_id = $2 AND user_id = $1`
	deletePasskeysSQL = `DELETE FROM webauthn_credentials WHERE user_id = $1`
	takeCeremonySQL   = `DELETE FROM webauthn_challenges WHERE id = $1 RETURNING purpose, user_id, session, expires_at`
)

// WebAuthnHandle returns a user's WebAuthn user handle, making it (32
// random bytes) at the first call; of two first calls at once, both get
// the one stored.
func (s *Store) WebAuthnHandle(ctx context.Context, userID uuid.UUID) ([]byte, error) {
	handle := make([]byte, 32)
	rand.Read(handle)
	if _, err := s.q(ctx).ExecContext(ctx, `INSERT INTO webauthn_users (user_id, handle) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING`,
		userID, handle); err != nil {
		return nil, s.translate("webauthn handle", err)
	}
	var stored []byte
	err := s.q(ctx).GetContext(ctx, &stored, handleSQL, userID)
	return stored, s.translate("webauthn handle", err)
}

// UserIDByHandle returns the user whose WebAuthn handle is handle;
// mfa.ErrInvalidCredential when none is.
func (s *Store) UserIDByHandle(ctx context.Context, handle []byte) (uuid.UUID, error) {
	var id uuid.UUID
	err := s.translate("user by webauthn handle", s.q(ctx).GetContext(ctx, &id, userByHandleSQL, handle))
	if errors.Is(err, sql.ErrNoRows) {
		return uuid.Nil, mfa.ErrInvalidCredential
	}
	return id, err
}

// passkeyRow is a webauthn_credentials row.
type passkeyRow struct {
	ID         []byte    `db:"id"`
	PublicID   uuid.UUID `db:"public_id"`
	UserID     uuid.UUID `db:"user_id"`
	Name       string    `db:"name"`
	Credential string    `db:"credential"`
	SignCount  int64     `db:"sign_count"`
	CreatedAt  dbTime    `db:"created_at"`
	LastUsedAt dbTime    `db:"last_used_at"`
}

func (r passkeyRow) passkey() mfa.Passkey {
	return mfa.Passkey{ID: r.ID, PublicID: r.PublicID, UserID: r.UserID, Name: r.Name, Record: []byte(r.Credential),
		SignCount: uint32(r.SignCount), CreatedAt: r.CreatedAt.Time, LastUsedAt: r.LastUsedAt.Time}
}

// Passkeys returns a user's registered credentials, oldest first.
func (s *Store) Passkeys(ctx context.Context, userID uuid.UUID) ([]mfa.Passkey, error) {
	var rows []passkeyRow
	if err := s.q(ctx).SelectContext(ctx, &rows, passkeysSQL, userID); err != nil {
		return nil, s.translate("passkeys", err)
	}
	out := make([]mfa.Passkey, len(rows))
	for k, r := range rows {
		out[k] = r.passkey()
	}
	return out, nil
}

// InsertPasskey stores a registered credential; a credential id already
// registered (to anyone) is mfa.ErrInvalidRegistration.
func (s *Store) InsertPasskey(ctx context.Context, p mfa.Passkey) error {
	_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO webauthn_credentials (id, user_id, public_id, name, credential, sign_count, created_at, user_verified)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, p.ID, p.UserID, p.PublicID, p.Name, string(p.Record), int64(p.SignCount), ts(p.CreatedAt), p.UserVerified)
	err = s.translate("insert passkey", err)
	if errors.Is(err, errUnique) {
		return mfa.ErrInvalidRegistration
	}
	return err
}

// UsePasskey records a credential's use: its new record and counter, only
// if the counter is still the one read (two uses racing: one wins), and
// reports whether it did.
func (s *Store) UsePasskey(ctx context.Context, p mfa.Passkey, oldCount uint32, now time.Time) (bool, error) {
	n, err := s.execCount(ctx, "use passkey", usePasskeySQL, p.ID, string(p.Record), int64(p.SignCount), ts(now), int64(oldCount))
	return n == 1, err
}

// DeletePasskey removes a user's credential with public id publicID;
// mfa.ErrPasskeyNotFound when the user has none such.
func (s *Store) DeletePasskey(ctx context.Context, userID, publicID uuid.UUID) error {
	n, err := s.execCount(ctx, "delete passkey", deletePasskeySQL, userID, publicID)
	if err == nil && n == 0 {
		return mfa.ErrPasskeyNotFound
	}
	return err
}

// DeletePasskeys removes every credential of a user and reports how many.
func (s *Store) DeletePasskeys(ctx context.Context, userID uuid.UUID) (int, error) {
	n, err := s.execCount(ctx, "delete passkeys", deletePasskeysSQL, userID)
	return int(n), err
}

// InsertCeremony stores a ceremony begun.
func (s *Store) InsertCeremony(ctx context.Context, c mfa.Ceremony) error {
	_, err := s.q(ctx).ExecContext(ctx, `INSERT INTO webauthn_challenges (id, purpose, user_id, session, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		c.ID, c.Purpose, nullID(c.UserID), string(c.Session), ts(c.ExpiresAt))
	return s.translate("insert ceremony", err)
}

// TakeCeremony deletes the ceremony id and returns it: a challenge is
// used once, whatever the outcome; mfa.ErrChallengeExpired when there is
// no such ceremony (never begun, used, or purged).
func (s *Store) TakeCeremony(ctx context.Context, id []byte) (mfa.Ceremony, error) {
	var rows []struct {
		Purpose   string        `db:"purpose"`
		UserID    uuid.NullUUID `db:"user_id"`
		Session   string        `db:"session"`
		ExpiresAt dbTime        `db:"expires_at"`
	}
	if err := s.q(ctx).SelectContext(ctx, &rows, takeCeremonySQL, id); err != nil {
		return mfa.Ceremony{}, s.translate("take ceremony", err)
	}
	if len(rows) == 0 {
		return mfa.Ceremony{}, mfa.ErrChallengeExpired
	}
	r := rows[0]
	return mfa.Ceremony{ID: id, Purpose: r.Purpose, UserID: r.UserID.UUID, Session: []byte(r.Session), ExpiresAt: r.ExpiresAt.Time}, nil
}

// DeleteExpiredCeremonies removes ceremonies over before cutoff, in
// batches through the expires_at index.
func (s *Store) DeleteExpiredCeremonies(ctx context.Context, cutoff time.Time) (int64, error) {
	return s.deleteInBatches(ctx, "delete expired ceremonies", s.purgeCeremonies(), ts(cutoff))
}

func (s *Store) purgeCeremonies() string {
	return s.batchDelete("webauthn_challenges", "id", "expires_at <= $1", "expires_at")
}

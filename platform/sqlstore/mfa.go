package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/mfa"
)

// The second factors' queries: each finds its rows by a primary key (a
// user's factors, authenticator, codes), or, for a change of key, by the
// key id everything sealed starts with (its first 8 bytes), through the
// indexes on substr(secret, 1, 8) and substr(sealed, 1, 8).
const (
	factorsSQL = `SELECT
		(SELECT enabled_at FROM mfa_totp WHERE user_id = $1) AS enabled_at,
		(SELECT count(*) FROM webauthn_credentials WHERE user_id = $1) AS passkeys,
		(SELECT count(*) FROM webauthn_credentials WHERE user_id = $1 AND user_verified) AS signin_passkeys,
		(SELECT count(*) FROM mfa_recovery_codes WHERE user_id = $1) AS codes`
	totpSQL                = `SELECT secret, enabled_at, last_step FROM mfa_totp WHERE user_id = $1`
	acceptTOTPStepSQL      = `UPDATE mfa_totp SET last_step = $2, secret = COALESCE($3, secret) WHERE user_id = $1 AND enabled_at IS NOT NULL AND last_step < $2`
	insertRecoveryCodeSQL  = `INSERT INTO mfa_recovery_codes (user_id, digest, sealed, created_at) VALUES ($1, $2, $3, $4)`
	deleteRecoveryCodesSQL = `DELETE FROM mfa_recovery_codes WHERE user_id = $1`

	// The key ids in use, each found by one probe of the index after the
	// one before (a loose index scan): as many probes as there are keys,
	// however many rows.
	totpKeyIDsSQL = `WITH RECURSIVE ids(id) AS (
		SELECT (SELECT substr(secret, 1, 8) FROM mfa_totp WHERE substr(secret, 1, 8) > '' ORDER BY substr(secret, 1, 8) LIMIT 1)
		UNION ALL
		SELECT (SELECT substr(secret, 1, 8) FROM mfa_totp WHERE substr(secret, 1, 8) > ids.id ORDER BY substr(secret, 1, 8) LIMIT 1)
		FROM ids WHERE ids.id IS NOT NULL)
		SELECT id FROM ids WHERE id IS NOT NULL`
	codeKeyIDsSQL = `WITH RECURSIVE ids(id) AS (
		SELECT (SELECT substr(sealed, 1, 8) FROM mfa_recovery_codes WHERE substr(sealed, 1, 8) > '' ORDER BY substr(sealed, 1, 8) LIMIT 1)
		UNION ALL
		SELECT (SELECT substr(sealed, 1, 8) FROM mfa_recovery_codes WHERE substr(sealed, 1, 8) > ids.id ORDER BY substr(sealed, 1, 8) LIMIT 1)
		FROM ids WHERE ids.id IS NOT NULL)
		SELECT id FROM ids WHERE id IS NOT NULL`
	totpUnderKeySQL       = `SELECT count(*) FROM mfa_totp WHERE substr(secret, 1, 8) = $1`
	codesUnderKeySQL      = `SELECT count(*) FROM mfa_recovery_codes WHERE substr(sealed, 1, 8) = $1`
	unsealedCodesSQL      = `SELECT count(*) AS codes, count(DISTINCT user_id) AS users FROM mfa_recovery_codes WHERE substr(sealed, 1, 8) IS NULL`
	totpBatchSQL          = `SELECT user_id, secret FROM mfa_totp WHERE substr(secret, 1, 8) = $1 AND user_id > $2 ORDER BY user_id LIMIT $3`
	codeBatchSQL          = `SELECT user_id, digest, sealed FROM mfa_recovery_codes WHERE substr(sealed, 1, 8) = $1 AND (user_id, digest) > ($2, $3) ORDER BY user_id, digest LIMIT $4`
	resealTOTPSQL         = `UPDATE mfa_totp SET secret = $3 WHERE user_id = $1 AND secret = $2`
	resealRecoveryCodeSQL = `UPDATE mfa_recovery_codes SET digest = $3, sealed = $4 WHERE user_id = $1 AND digest = $2`
)

// useRecoveryCodeSQL deletes the code of user $2 with one of the digests
// in the list $1: one statement, so that a code is used once even while
// a rekey moves it from one digest to another.
func (s *Store) useRecoveryCodeSQL() string {
	return `DELETE FROM mfa_recovery_codes WHERE user_id = $2 AND ` + fmt.Sprintf(s.d.InIDList, "digest")
}

// Factors says which second factors a user has, in one query of primary
// key lookups.
func (s *Store) Factors(ctx context.Context, userID uuid.UUID) (mfa.Factors, error) {
	var r struct {
		EnabledAt dbTime `db:"enabled_at"`
		Passkeys  int    `db:"passkeys"`
		SignIn    int    `db:"signin_passkeys"`
		Codes     int    `db:"codes"`
	}
	err := s.q(ctx).GetContext(ctx, &r, factorsSQL, userID)
	if err != nil {
		return mfa.Factors{}, s.translate("factors", err)
	}
	return mfa.Factors{TOTPEnabledAt: r.EnabledAt.Time, Passkeys: r.Passkeys, SignInPasskeys: r.SignIn, RecoveryCodesLeft: r.Codes}, nil
}

// TOTP returns a user's authenticator, set up or enabled, and whether
// there is one.
func (s *Store) TOTP(ctx context.Context, userID uuid.UUID) (mfa.TOTP, bool, error) {
	var r struct {
		Secret    []byte `db:"secret"`
		EnabledAt dbTime `db:"enabled_at"`
		LastStep  int64  `db:"last_step"`
	}
	err := s.translate("totp", s.q(ctx).GetContext(ctx, &r, totpSQL, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return mfa.TOTP{}, false, nil
	}
	if err != nil {
		return mfa.TOTP{}, false, err
	}
	return mfa.TOTP{Sealed: r.Secret, EnabledAt: r.EnabledAt.Time, LastStep: r.LastStep}, true, nil
}

// SetUpTOTP stores a new, not yet enabled, authenticator secret for a
// user, replacing one set up before; it reports false, storing nothing,
// when an enabled one is there.
func (s *Store) SetUpTOTP(ctx context.Context, userID uuid.UUID, sealed []byte, now time.Time) (bool, error) {
	n, err := s.execCount(ctx, "set up totp", `INSERT INTO mfa_totp (user_id, secret, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at, last_step = 0
		WHERE mfa_totp.enabled_at IS NULL`, userID, sealed, ts(now))
	return n == 1, err
}

// EnableTOTP enables the authenticator set up with sealed (the secret its
// first code was checked against), accepting step, and stores resealed in
// its place (the same secret, sealed with the current key); it reports
// false when that secret is no longer the one set up (a newer setup, or
// enabled already).
func (s *Store) EnableTOTP(ctx context.Context, userID uuid.UUID, sealed, resealed []byte, step int64, now time.Time) (bool, error) {
	n, err := s.execCount(ctx, "enable totp", `UPDATE mfa_totp SET enabled_at = $4, last_step = $5, secret = $3
		WHERE user_id = $1 AND secret = $2 AND enabled_at IS NULL`, userID, sealed, resealed, ts(now), step)
	return n == 1, err
}

// AcceptTOTPStep records step as a user's last accepted time step, only if
// it is after the last one (a code is good once: of two uses of one code,
// one wins), and stores resealed as the secret when it is not nil (one
// sealed with an old key, sealed again). It reports whether it did.
func (s *Store) AcceptTOTPStep(ctx context.Context, userID uuid.UUID, step int64, resealed []byte) (bool, error) {
	n, err := s.execCount(ctx, "accept totp step", acceptTOTPStepSQL, userID, step, resealed)
	return n == 1, err
}

// DeleteTOTP removes a user's authenticator and reports whether an enabled
// one went.
func (s *Store) DeleteTOTP(ctx context.Context, userID uuid.UUID) (bool, error) {
	var enabled []dbTime
	err := s.q(ctx).SelectContext(ctx, &enabled, `DELETE FROM mfa_totp WHERE user_id = $1 RETURNING enabled_at`, userID)
	if err != nil {
		return false, s.translate("delete totp", err)
	}
	return len(enabled) == 1 && !enabled[0].IsZero(), nil
}

// ReplaceRecoveryCodes voids a user's recovery codes and stores codes as
// the new set.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID uuid.UUID, codes []mfa.StoredCode, now time.Time) error {
	if _, err := s.DeleteRecoveryCodes(ctx, userID); err != nil {
		return err
	}
	for _, c := range codes {
		if _, err := s.q(ctx).ExecContext(ctx, insertRecoveryCodeSQL, userID, c.Digest, c.Sealed, ts(now)); err != nil {
			return s.translate("insert recovery code", err)
		}
	}
	return nil
}

// UseRecoveryCode deletes the user's recovery code with one of digests
// (the code's digest under each key generation) and reports whether there
// was one: of two uses of one code, one wins. It is one statement, so a
// rekey moving the code meanwhile (from one digest to another) makes it
// wait for the move, never miss the code.
func (s *Store) UseRecoveryCode(ctx context.Context, userID uuid.UUID, digests [][]byte) (bool, error) {
	if len(digests) == 0 {
		return false, nil
	}
	n, err := s.execCount(ctx, "use recovery code", s.useRecoveryCodeSQL(), s.d.IDList(digests), userID)
	return n > 0, err
}

// DeleteRecoveryCodes removes a user's recovery codes and reports how
// many.
func (s *Store) DeleteRecoveryCodes(ctx context.Context, userID uuid.UUID) (int, error) {
	n, err := s.execCount(ctx, "delete recovery codes", deleteRecoveryCodesSQL, userID)
	return int(n), err
}

// MFAKeyIDs returns the ids of the keys that stored TOTP secrets, sealed
// recovery codes, API keys' hashes and webhook secrets need (each value's
// first 8 bytes), without reading every row: a few index probes per key
// (and the few webhook endpoints).
func (s *Store) MFAKeyIDs(ctx context.Context) ([][]byte, error) {
	var ids [][]byte
	seen := map[string]bool{}
	for _, q := range []string{totpKeyIDsSQL, codeKeyIDsSQL, apiKeyKeyIDsSQL, webhookKeyIDsSQL} {
		var found [][]byte
		if err := s.q(ctx).SelectContext(ctx, &found, q); err != nil {
			return nil, s.translate("mfa key ids", err)
		}
		for _, id := range found {
			if !seen[string(id)] {
				seen[string(id)] = true
				ids = append(ids, id)
			}
		}
	}
	return ids, nil
}

// KeyRows counts the stored rows that need one key.
type KeyRows struct {
	Secrets int // TOTP secrets, enabled or only set up
	Codes   int // unused recovery codes
	// APIKeys are API keys whose hash was made under the key: no rekey can
	// move them (only the key's holder has its secret); each moves at its
	// next use, and ends with its expiry.
	APIKeys  int
	Webhooks int // webhook signing secrets, current or previous
}

// MFAKeyRows counts the TOTP secrets, recovery codes, API keys and webhook
// secrets stored under the key whose id is keyID, through the key id
// indexes (it reads the rows of that key, no other, and the few webhook
// endpoints).
func (s *Store) MFAKeyRows(ctx context.Context, keyID []byte) (KeyRows, error) {
	var r KeyRows
	if err := s.q(ctx).GetContext(ctx, &r.Secrets, totpUnderKeySQL, keyID); err != nil {
		return r, s.translate("count totp secrets under a key", err)
	}
	if err := s.q(ctx).GetContext(ctx, &r.Codes, codesUnderKeySQL, keyID); err != nil {
		return r, s.translate("count recovery codes under a key", err)
	}
	if err := s.q(ctx).GetContext(ctx, &r.APIKeys, apiKeysUnderKeySQL, keyID); err != nil {
		return r, s.translate("count api keys under a key", err)
	}
	if err := s.q(ctx).GetContext(ctx, &r.Webhooks, webhooksUnderKeySQL, keyID); err != nil {
		return r, s.translate("count webhook secrets under a key", err)
	}
	return r, nil
}

// UnsealedRecoveryCodes counts the recovery codes stored without a seal
// (before codes were sealed, or by a replica that did not seal them yet),
// and the users they are of: they match under the key that made them,
// which nothing records, and no rekey can move them.
func (s *Store) UnsealedRecoveryCodes(ctx context.Context) (codes, users int, err error) {
	var r struct {
		Codes int `db:"codes"`
		Users int `db:"users"`
	}
	if err := s.q(ctx).GetContext(ctx, &r, unsealedCodesSQL); err != nil {
		return 0, 0, s.translate("count unsealed recovery codes", err)
	}
	return r.Codes, r.Users, nil
}

// Resealed is what a rekey of one key did.
type Resealed struct {
	Moved  int // rows now sealed under the new key
	Failed int // rows their key id names that did not open: left as they are
}

// ResealTOTPSecrets moves every TOTP secret sealed under the key whose id
// is from to the key reseal seals with (reseal gets a user's sealed
// secret and returns it sealed anew, or an error when it does not open),
// batch rows per transaction, in user order: never the whole table in
// one transaction or in memory. A secret written meanwhile (a login
// sealing it again, a new setup) is left to its writer. Call it outside
// WithinTx.
func (s *Store) ResealTOTPSecrets(ctx context.Context, from []byte, batch int, reseal func(userID uuid.UUID, sealed []byte) ([]byte, error)) (Resealed, error) {
	var done Resealed
	after := uuid.Nil
	for {
		var rows []struct {
			UserID uuid.UUID `db:"user_id"`
			Secret []byte    `db:"secret"`
		}
		var moved, failed int
		err := s.WithinTx(ctx, func(ctx context.Context) error {
			rows, moved, failed = nil, 0, 0
			if err := s.q(ctx).SelectContext(ctx, &rows, totpBatchSQL, from, after, batch); err != nil {
				return s.translate("totp secrets under a key", err)
			}
			for _, r := range rows {
				resealed, err := reseal(r.UserID, r.Secret)
				if err != nil {
					failed++
					continue
				}
				n, err := s.execCount(ctx, "reseal totp secret", resealTOTPSQL, r.UserID, r.Secret, resealed)
				if err != nil {
					return err
				}
				moved += int(n)
			}
			return nil
		})
		if err != nil {
			return done, err
		}
		done.Moved, done.Failed = done.Moved+moved, done.Failed+failed
		if len(rows) < batch {
			return done, nil
		}
		after = rows[len(rows)-1].UserID
	}
}

// ResealRecoveryCodes moves every recovery code sealed under the key whose
// id is from to the key reseal seals with (reseal gets a user's sealed
// code and returns its digest and seal anew, or an error when it does not
// open), batch rows per transaction, in order: never the whole table in
// one transaction or in memory. A code used or replaced meanwhile stays
// used or replaced. Call it outside WithinTx.
func (s *Store) ResealRecoveryCodes(ctx context.Context, from []byte, batch int, reseal func(userID uuid.UUID, sealed []byte) (mfa.StoredCode, error)) (Resealed, error) {
	var done Resealed
	afterUser, afterDigest := uuid.Nil, []byte{}
	for {
		var rows []struct {
			UserID uuid.UUID `db:"user_id"`
			Digest []byte    `db:"digest"`
			Sealed []byte    `db:"sealed"`
		}
		var moved, failed int
		err := s.WithinTx(ctx, func(ctx context.Context) error {
			rows, moved, failed = nil, 0, 0
			if err := s.q(ctx).SelectContext(ctx, &rows, codeBatchSQL, from, afterUser, afterDigest, batch); err != nil {
				return s.translate("recovery codes under a key", err)
			}
			for _, r := range rows {
				c, err := reseal(r.UserID, r.Sealed)
				if err != nil {
					failed++
					continue
				}
				n, err := s.execCount(ctx, "reseal recovery code", resealRecoveryCodeSQL, r.UserID, r.Digest, c.Digest, c.Sealed)
				if err != nil {
					return err
				}
				moved += int(n)
			}
			return nil
		})
		if err != nil {
			return done, err
		}
		done.Moved, done.Failed = done.Moved+moved, done.Failed+failed
		if len(rows) < batch {
			return done, nil
		}
		last := rows[len(rows)-1]
		afterUser, afterDigest = last.UserID, last.Digest
	}
}

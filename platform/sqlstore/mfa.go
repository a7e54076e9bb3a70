package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/mfa"
)

// The second factors' queries: each finds its rows by a primary key (a
// user's factors, authenticator, codes).
const (
	factorsSQL = `SELECT
		(SELECT enabled_at FROM mfa_totp WHERE user_id = $1) AS enabled_at,
		(SELECT count(*) FROM webauthn_credentials WHERE user_id = $1) AS passkeys,
		(SELECT count(*) FROM mfa_recovery_codes WHERE user_id = $1) AS codes`
	totpSQL                = `SELECT secret, enabled_at, last_step FROM mfa_totp WHERE user_id = $1`
	acceptTOTPStepSQL      = `UPDATE mfa_totp SET last_step = $2, secret = COALESCE($3, secret) WHERE user_id = $1 AND enabled_at IS NOT NULL AND last_step < $2`
	useRecoveryCodeSQL     = `DELETE FROM mfa_recovery_codes WHERE user_id = $1 AND digest = $2`
	deleteRecoveryCodesSQL = `DELETE FROM mfa_recovery_codes WHERE user_id = $1`
)

// Factors says which second factors a user has, in one query of primary
// key lookups.
func (s *Store) Factors(ctx context.Context, userID uuid.UUID) (mfa.Factors, error) {
	var r struct {
		EnabledAt dbTime `db:"enabled_at"`
		Passkeys  int    `db:"passkeys"`
		Codes     int    `db:"codes"`
	}
	err := s.q(ctx).GetContext(ctx, &r, factorsSQL, userID)
	if err != nil {
		return mfa.Factors{}, s.translate("factors", err)
	}
	return mfa.Factors{TOTPEnabledAt: r.EnabledAt.Time, Passkeys: r.Passkeys, RecoveryCodesLeft: r.Codes}, nil
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

// ReplaceRecoveryCodes voids a user's recovery codes and stores digests as
// the new set.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID uuid.UUID, digests [][]byte, now time.Time) error {
	if _, err := s.DeleteRecoveryCodes(ctx, userID); err != nil {
		return err
	}
	for _, d := range digests {
		if _, err := s.q(ctx).ExecContext(ctx, `INSERT INTO mfa_recovery_codes (user_id, digest, created_at) VALUES ($1, $2, $3)`,
			userID, d, ts(now)); err != nil {
			return s.translate("insert recovery code", err)
		}
	}
	return nil
}

// UseRecoveryCode deletes the user's recovery code with one of digests
// (the code's digest under each key generation) and reports whether there
// was one: of two uses of one code, one wins.
func (s *Store) UseRecoveryCode(ctx context.Context, userID uuid.UUID, digests [][]byte) (bool, error) {
	for _, d := range digests {
		n, err := s.execCount(ctx, "use recovery code", useRecoveryCodeSQL, userID, d)
		if err != nil || n == 1 {
			return n == 1, err
		}
	}
	return false, nil
}

// DeleteRecoveryCodes removes a user's recovery codes and reports how
// many.
func (s *Store) DeleteRecoveryCodes(ctx context.Context, userID uuid.UUID) (int, error) {
	n, err := s.execCount(ctx, "delete recovery codes", deleteRecoveryCodesSQL, userID)
	return int(n), err
}

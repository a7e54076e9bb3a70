package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/onetime"
)

// InsertToken stores a one-time token (its hash, never its secret).
func (s *Store) InsertToken(ctx context.Context, t onetime.Token) error {
	_, err := s.q(ctx).ExecContext(ctx,
		`INSERT INTO one_time_tokens (id, user_id, purpose, email, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		t.ID, t.UserID, string(t.Purpose), t.Email, ts(t.CreatedAt), ts(t.ExpiresAt))
	return s.translate("insert token", err)
}

// TokenForUpdate finds a token by id and locks it until the transaction in
// ctx ends, so that two uses of one token cannot both pass; an unknown id
// is onetime.ErrInvalid.
func (s *Store) TokenForUpdate(ctx context.Context, id []byte) (onetime.Token, error) {
	return s.token(ctx, "lock token", tokenSQL+s.d.ForUpdate, id)
}

// Token finds a token by id, without a lock: a look before work that only
// a usable token is worth (TokenForUpdate then spends it). An unknown id is
// onetime.ErrInvalid.
func (s *Store) Token(ctx context.Context, id []byte) (onetime.Token, error) {
	return s.token(ctx, "token", tokenSQL, id)
}

// tokenSQL finds a token by its primary key.
const tokenSQL = `SELECT id, user_id, purpose, email, created_at, expires_at, used_at FROM one_time_tokens WHERE id = $1`

func (s *Store) token(ctx context.Context, op, query string, id []byte) (onetime.Token, error) {
	var r struct {
		ID        []byte    `db:"id"`
		UserID    uuid.UUID `db:"user_id"`
		Purpose   string    `db:"purpose"`
		Email     string    `db:"email"`
		CreatedAt dbTime    `db:"created_at"`
		ExpiresAt dbTime    `db:"expires_at"`
		UsedAt    dbTime    `db:"used_at"`
	}
	err := s.translate(op, s.q(ctx).GetContext(ctx, &r, query, id))
	if errors.Is(err, sql.ErrNoRows) {
		return onetime.Token{}, fmt.Errorf("%s: %w", op, onetime.ErrInvalid)
	}
	if err != nil {
		return onetime.Token{}, err
	}
	return onetime.Token{ID: r.ID, UserID: r.UserID, Purpose: onetime.Purpose(r.Purpose), Email: r.Email,
		CreatedAt: r.CreatedAt.Time, ExpiresAt: r.ExpiresAt.Time, UsedAt: r.UsedAt.Time}, nil
}

// UseToken marks a token used.
func (s *Store) UseToken(ctx context.Context, id []byte, now time.Time) error {
	_, err := s.q(ctx).ExecContext(ctx, `UPDATE one_time_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL`, id, ts(now))
	return s.translate("use token", err)
}

// VoidTokens ends every unused token of a user: their address changed.
func (s *Store) VoidTokens(ctx context.Context, userID uuid.UUID, now time.Time) error {
	_, err := s.q(ctx).ExecContext(ctx, `UPDATE one_time_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL`, userID, ts(now))
	return s.translate("void tokens", err)
}

// VoidRecoveryTokens ends every unused recovery token of a user: their
// password changed.
func (s *Store) VoidRecoveryTokens(ctx context.Context, userID uuid.UUID, now time.Time) error {
	_, err := s.q(ctx).ExecContext(ctx,
		`UPDATE one_time_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL AND purpose = 'recovery'`, userID, ts(now))
	return s.translate("void recovery tokens", err)
}

// DeleteExpiredTokens removes tokens that expired before cutoff, in
// batches through the expires_at index.
func (s *Store) DeleteExpiredTokens(ctx context.Context, cutoff time.Time) (int64, error) {
	return s.deleteInBatches(ctx, "delete expired tokens", s.purgeTokens(), ts(cutoff))
}

func (s *Store) purgeTokens() string {
	return s.batchDelete("one_time_tokens", "id", "expires_at < $1", "expires_at")
}

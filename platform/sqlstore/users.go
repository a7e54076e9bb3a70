package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/user"
)

type userRow struct {
	ID           uuid.UUID `db:"id"`
	Username     string    `db:"username"`
	PasswordHash string    `db:"password_hash"`
	Role         string    `db:"role"`
	IsActive     bool      `db:"is_active"`
	CreatedAt    dbTime    `db:"created_at"`
	UpdatedAt    dbTime    `db:"updated_at"`
}

func (r userRow) user() user.User {
	return user.User{
		ID:           r.ID,
		Username:     r.Username,
		PasswordHash: r.PasswordHash,
		Role:         user.Role(r.Role),
		IsActive:     r.IsActive,
		CreatedAt:    r.CreatedAt.Time,
		UpdatedAt:    r.UpdatedAt.Time,
	}
}

const userColumns = `id, username, password_hash, role, is_active, created_at, updated_at`

// InsertUser stores a new user. A username that differs from an existing one
// only in case is taken: user.ErrUsernameTaken.
func (s *Store) InsertUser(ctx context.Context, u user.User) error {
	_, err := s.q(ctx).ExecContext(ctx,
		`INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		u.ID, u.Username, u.PasswordHash, string(u.Role), u.IsActive, ts(u.CreatedAt), ts(u.UpdatedAt))
	err = s.translate("insert user", err)
	if errors.Is(err, errUnique) {
		return fmt.Errorf("insert user %s: %w", u.Username, user.ErrUsernameTaken)
	}
	return err
}

// UserByUsername finds a user by name, ignoring case.
func (s *Store) UserByUsername(ctx context.Context, username string) (user.User, error) {
	return s.getUser(ctx, "user by username",
		`SELECT `+userColumns+` FROM users WHERE lower(username) = lower($1)`, username)
}

// UserByID finds a user by id.
func (s *Store) UserByID(ctx context.Context, id uuid.UUID) (user.User, error) {
	return s.getUser(ctx, "user by id", `SELECT `+userColumns+` FROM users WHERE id = $1`, id)
}

func (s *Store) getUser(ctx context.Context, op, query string, arg any) (user.User, error) {
	var r userRow
	err := s.translate(op, s.q(ctx).GetContext(ctx, &r, query, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return user.User{}, fmt.Errorf("%s %v: %w", op, arg, user.ErrNotFound)
	}
	if err != nil {
		return user.User{}, err
	}
	return r.user(), nil
}

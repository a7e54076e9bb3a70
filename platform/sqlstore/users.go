package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

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

// UserByUsernameForUpdate finds a user by name, ignoring case, and locks the
// row until the transaction in ctx ends. Call it inside WithinTx.
func (s *Store) UserByUsernameForUpdate(ctx context.Context, username string) (user.User, error) {
	return s.getUser(ctx, "lock user by username",
		`SELECT `+userColumns+` FROM users WHERE lower(username) = lower($1)`+s.d.ForUpdate, username)
}

// SetUserRole changes a user's role.
func (s *Store) SetUserRole(ctx context.Context, userID uuid.UUID, role user.Role, updatedAt time.Time) error {
	return s.updateUser(ctx, "set user role",
		`UPDATE users SET role = $2, updated_at = $3 WHERE id = $1`, userID, string(role), ts(updatedAt))
}

// orderBy maps each sort field to its ORDER BY list; %[1]s is the
// direction. Ties are broken by id in the same direction; usernames are
// unique ignoring case, so they have none. Each list matches an index
// (migration 3), so every page is an index scan.
var orderBy = map[user.SortField]string{
	user.SortUsername:  "lower(username) %[1]s",
	user.SortRole:      "role %[1]s, id %[1]s",
	user.SortIsActive:  "is_active %[1]s, id %[1]s",
	user.SortCreatedAt: "created_at %[1]s, id %[1]s",
	user.SortUpdatedAt: "updated_at %[1]s, id %[1]s",
}

// ListUsers returns one page of users and the number of all users.
func (s *Store) ListUsers(ctx context.Context, p user.Page) ([]user.User, int, error) {
	order, ok := orderBy[p.Sort]
	if !ok {
		return nil, 0, fmt.Errorf("list users: unknown sort field %q", p.Sort)
	}
	dir := "ASC"
	if p.Descending {
		dir = "DESC"
	}
	var rows []userRow
	err := s.q(ctx).SelectContext(ctx, &rows,
		`SELECT `+userColumns+` FROM users ORDER BY `+fmt.Sprintf(order, dir)+` LIMIT $1 OFFSET $2`, p.Limit, p.Offset)
	if err != nil {
		return nil, 0, s.translate("list users", err)
	}
	var total int
	if err := s.q(ctx).GetContext(ctx, &total, `SELECT count(*) FROM users`); err != nil {
		return nil, 0, s.translate("count users", err)
	}
	users := make([]user.User, len(rows))
	for i, r := range rows {
		users[i] = r.user()
	}
	return users, total, nil
}

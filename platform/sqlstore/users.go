package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/user"
)

type userRow struct {
	ID              uuid.UUID      `db:"id"`
	Username        string         `db:"username"`
	PasswordHash    string         `db:"password_hash"`
	Role            string         `db:"role"`
	IsActive        bool           `db:"is_active"`
	CreatedAt       dbTime         `db:"created_at"`
	UpdatedAt       dbTime         `db:"updated_at"`
	Email           sql.NullString `db:"email"`
	EmailVerifiedAt dbTime         `db:"email_verified_at"`
	SecondFactor    bool           `db:"second_factor"`
}

func (r userRow) user() user.User {
	return user.User{
		ID:              r.ID,
		Username:        r.Username,
		PasswordHash:    r.PasswordHash,
		Role:            user.Role(r.Role),
		IsActive:        r.IsActive,
		CreatedAt:       r.CreatedAt.Time,
		UpdatedAt:       r.UpdatedAt.Time,
		Email:           r.Email.String,
		EmailVerifiedAt: r.EmailVerifiedAt.Time,
		SecondFactor:    r.SecondFactor,
	}
}

// dest is where a row of userColumns scans, in their order (no
// reflection: a page of users is the list's hot path).
func (r *userRow) dest() []any {
	return []any{&r.ID, &r.Username, &r.PasswordHash, &r.Role, &r.IsActive, &r.CreatedAt, &r.UpdatedAt, &r.Email, &r.EmailVerifiedAt, &r.SecondFactor}
}

// userColumns are what userRow scans; second_factor is the triggers' (a
// new user has no factor).
const userColumns = `id, username, password_hash, role, is_active, created_at, updated_at, email, email_verified_at, second_factor`

// InsertUser stores a new user. A username that differs from an existing one
// only in case is taken (user.ErrUsernameTaken), and so is the verified
// address of another account (user.ErrEmailTaken); an address that others
// have only claimed (unverified) is free. Call it in a transaction.
func (s *Store) InsertUser(ctx context.Context, u user.User) error {
	if err := s.checkEmailFree(ctx, u, u.Email); err != nil {
		return err
	}
	_, err := s.q(ctx).ExecContext(ctx,
		`INSERT INTO users (id, username, password_hash, role, is_active, created_at, updated_at, email, email_verified_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		u.ID, u.Username, u.PasswordHash, string(u.Role), u.IsActive, ts(u.CreatedAt), ts(u.UpdatedAt), nullString(u.Email), nullTime(u.EmailVerifiedAt))
	return userConflict(s.translate("insert user", err), u)
}

// The queries of addresses. Only verified addresses are unique
// (users_verified_email_key, partial): each lookup by a verified address
// reads that index; the claims a verification clears are found through
// users_email_lookup_idx.
const (
	userByEmailSQL      = `SELECT ` + userColumns + ` FROM users WHERE lower(email) = lower($1) AND email_verified_at IS NOT NULL`
	emailTakenSQL       = `SELECT 1 FROM users WHERE lower(email) = lower($1) AND email_verified_at IS NOT NULL AND id <> $2`
	replaceEmailSQL     = `UPDATE users SET email = $2, email_verified_at = NULL, updated_at = $3 WHERE id = $1 AND password_hash = $4`
	setEmailVerifiedSQL = `UPDATE users SET email_verified_at = $3, updated_at = $3 WHERE id = $1 AND lower(email) = lower($2)`
	clearEmailClaimsSQL = `UPDATE users SET email = NULL, email_verified_at = NULL, updated_at = $3
		WHERE lower(email) = lower($1) AND email_verified_at IS NULL AND id <> $2 RETURNING id`
	emailClaimedSQL = `SELECT 1 FROM users WHERE lower(email) = lower($1) AND email_verified_at IS NULL LIMIT 1`
)

// EmailClaimed reports whether an account has email as its address
// without having verified it (ignoring case).
func (s *Store) EmailClaimed(ctx context.Context, email string) (bool, error) {
	var one int
	err := s.scanRow(ctx, emailClaimedSQL, []any{email}, &one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, s.translate("email claimed", err)
	}
	return true, nil
}

// checkEmailFree returns user.ErrEmailTaken when email is the verified
// address of an account other than u.
func (s *Store) checkEmailFree(ctx context.Context, u user.User, email string) error {
	if email == "" {
		return nil
	}
	var one int
	err := s.scanRow(ctx, emailTakenSQL, []any{email, u.ID}, &one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return s.translate("email taken", err)
	}
	return fmt.Errorf("user %s: %w", u.Username, user.ErrEmailTaken)
}

// userConflict turns a unique violation of a user row into the domain's
// error: the index named in the message says which value is taken (an
// address: users_verified_email_key, or users_email_lower_key until
// migration 000023 drops it).
func userConflict(err error, u user.User) error {
	if !errors.Is(err, errUnique) {
		return err
	}
	if strings.Contains(err.Error(), "users_verified_email_key") || strings.Contains(err.Error(), "users_email_lower_key") {
		return fmt.Errorf("user %s: %w", u.Username, user.ErrEmailTaken)
	}
	return fmt.Errorf("user %s: %w", u.Username, user.ErrUsernameTaken)
}

// UserByUsername finds a user by name, ignoring case.
func (s *Store) UserByUsername(ctx context.Context, username string) (user.User, error) {
	return s.getUser(ctx, "user by username",
		`SELECT `+userColumns+` FROM users WHERE lower(username) = lower($1)`, username)
}

// UserByEmail finds the account whose verified address is email, ignoring
// case: an unverified address belongs to nobody (several accounts may
// claim it), so it is user.ErrNotFound.
func (s *Store) UserByEmail(ctx context.Context, email string) (user.User, error) {
	return s.getUser(ctx, "user by email", userByEmailSQL, email)
}

// UserByIDForUpdate finds a user by id and locks the row until the
// transaction in ctx ends.
func (s *Store) UserByIDForUpdate(ctx context.Context, id uuid.UUID) (user.User, error) {
	return s.getUser(ctx, "lock user by id", `SELECT `+userColumns+` FROM users WHERE id = $1`+s.d.ForUpdate, id)
}

// UserByID finds a user by id.
func (s *Store) UserByID(ctx context.Context, id uuid.UUID) (user.User, error) {
	return s.getUser(ctx, "user by id", `SELECT `+userColumns+` FROM users WHERE id = $1`, id)
}

func (s *Store) getUser(ctx context.Context, op, query string, arg any) (user.User, error) {
	var r userRow
	err := s.translate(op, s.scanRow(ctx, query, []any{arg}, r.dest()...))
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

// sortKey maps each sort field to the expression it orders by. Ties are
// broken by id in the same direction; usernames are unique ignoring case,
// so they have none. Each (key, id) pair matches an index (migrations 1 and
// 3), so every page, by offset or after a key, is an index range scan.
var sortKey = map[user.SortField]string{
	user.SortUsername:  "lower(username)",
	user.SortRole:      "role",
	user.SortIsActive:  "is_active",
	user.SortCreatedAt: "created_at",
	user.SortUpdatedAt: "updated_at",
}

// ListUsers returns one page of users and the number of all users, in one
// round trip: the count (a row kept by triggers, migration 4: O(1) at any
// size) rides on every row, and is read alone only for an empty page. The
// list has no use for password hashes, so it does not read them.
func (s *Store) ListUsers(ctx context.Context, p user.Page) ([]user.User, int, error) {
	query, args, err := listQuery(p)
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	rows := make([]userRow, 0, pageSize(p.Limit))
	var total int
	err = s.scanRows(ctx, query, args, func() { rows = rows[:0] }, func() []any {
		rows = append(rows, userRow{})
		r := &rows[len(rows)-1]
		return []any{&total, &r.ID, &r.Username, &r.Role, &r.IsActive, &r.CreatedAt, &r.UpdatedAt, &r.Email, &r.EmailVerifiedAt} // listColumns
	})
	if err != nil {
		return nil, 0, s.translate("list users", err)
	}
	if len(rows) == 0 {
		err := s.scanRow(ctx, userCount, nil, &total)
		return nil, total, s.translate("count users", err)
	}
	rows = rows[:min(len(rows), p.Limit)]
	users := make([]user.User, len(rows))
	for i, r := range rows {
		users[i] = r.user()
	}
	return users, total, nil
}

const userCount = `SELECT n FROM user_count`

// listColumns are what a page of users scans (ListUsers), the count first.
const listColumns = `(` + userCount + `) AS total, id, username, role, is_active, created_at, updated_at, email, email_verified_at`

// pageSizes are the LIMITs pages are read with, written into the
// statement rather than passed: with a parameter there PostgreSQL's generic
// plan reckons with a tenth of the table, so it planned the statement anew
// on every run (pg_prepared_statements: custom plans only). Four sizes (the
// API's limits 10, 20, 50 and 100, each with the row that tells whether a
// next page exists) keep the statements few; a page in between reads the
// next size up and drops the rest.
var pageSizes = [...]int{11, 21, 51, 101}

// pageSize is the LIMIT a page of n rows is read with.
func pageSize(n int) int {
	for _, size := range pageSizes {
		if n <= size {
			return size
		}
	}
	return n // beyond the API's pages: the store's own callers
}

// listQuery returns the query of a page and its parameters: by offset, or
// the rows after a key (keyset: at any depth an index range scan that
// starts at the key). The first page and the pages after a key are planned
// once (no parameter but the key); a page by offset is planned each time,
// as its OFFSET must be a parameter.
func listQuery(p user.Page) (string, []any, error) {
	key, ok := sortKey[p.Sort]
	if !ok {
		return "", nil, fmt.Errorf("unknown sort field %q", p.Sort)
	}
	dir, cmp := "ASC", ">"
	if p.Descending {
		dir, cmp = "DESC", "<"
	}
	// Usernames are unique: the key alone is the position.
	order, pos, after := key+" "+dir, key, "$1"
	if p.Sort != user.SortUsername {
		order, pos, after = order+", id "+dir, "("+key+", id)", "($1, $2)"
	}
	query := `SELECT ` + listColumns + ` FROM users `
	limit := ` LIMIT ` + strconv.Itoa(pageSize(p.Limit))
	if p.After == nil {
		if p.Offset == 0 {
			return query + `ORDER BY ` + order + limit, nil, nil
		}
		return query + `ORDER BY ` + order + limit + ` OFFSET $1`, []any{p.Offset}, nil
	}
	v, err := keyArg(p.Sort, p.After.Value)
	if err != nil {
		return "", nil, fmt.Errorf("key %q: %w", p.After.Value, err)
	}
	args := []any{v}
	if p.Sort != user.SortUsername {
		args = append(args, p.After.ID)
	}
	return query + `WHERE ` + pos + ` ` + cmp + ` ` + after + ` ORDER BY ` + order + limit, args, nil
}

// keyArg turns a key's text into the query parameter its column compares
// with.
func keyArg(f user.SortField, v string) (any, error) {
	switch f {
	case user.SortIsActive:
		return strconv.ParseBool(v)
	case user.SortCreatedAt, user.SortUpdatedAt:
		t, err := user.KeyTime(v)
		return ts(t), err
	}
	return v, nil
}

// EachPasswordHash calls fn with every stored password hash, streaming: a
// whole-table read, for the operator's hash report, never a request.
func (s *Store) EachPasswordHash(ctx context.Context, fn func(hash string)) error {
	rows, err := s.db.QueryContext(ctx, `SELECT password_hash FROM users`)
	if err != nil {
		return s.translate("password hashes", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return s.translate("password hashes", err)
		}
		fn(h)
	}
	return s.translate("password hashes", rows.Err())
}

// UpdatePasswordHash replaces a user's password hash, whatever it was: an
// admin's reset.
func (s *Store) UpdatePasswordHash(ctx context.Context, userID uuid.UUID, hash string, updatedAt time.Time) error {
	return s.updateUser(ctx, "update password hash",
		`UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1`, userID, hash, ts(updatedAt))
}

// The password swaps: each finds the user by the primary key, and changes
// it only while it has the old hash.
const (
	replacePasswordHashSQL = `UPDATE users SET password_hash = $3, updated_at = $4 WHERE id = $1 AND password_hash = $2`
	rehashPasswordSQL      = `UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2`
)

// ReplacePasswordHash replaces a user's password hash only while it is
// still old (the one the user's current password was checked against),
// and reports whether it did: a change that raced with another password
// change loses.
func (s *Store) ReplacePasswordHash(ctx context.Context, userID uuid.UUID, old, hash string, updatedAt time.Time) (bool, error) {
	n, err := s.execCount(ctx, "replace password hash", replacePasswordHashSQL, userID, old, hash, ts(updatedAt))
	return n == 1, err
}

// RehashPassword upgrades a user's password hash (new parameters or
// pepper, same password) only while it is still old, and reports whether
// it did. It is not a change of the account: updated_at stays.
func (s *Store) RehashPassword(ctx context.Context, userID uuid.UUID, old, hash string) (bool, error) {
	n, err := s.execCount(ctx, "rehash password", rehashPasswordSQL, userID, old, hash)
	return n == 1, err
}

// SetUserActive activates or inactivates a user.
func (s *Store) SetUserActive(ctx context.Context, userID uuid.UUID, active bool, updatedAt time.Time) error {
	return s.updateUser(ctx, "set user active",
		`UPDATE users SET is_active = $2, updated_at = $3 WHERE id = $1`, userID, active, ts(updatedAt))
}

// DeleteUser deletes a user; the schema deletes what is theirs (sessions,
// one-time tokens, second factors, pending logins, WebAuthn ceremonies:
// ON DELETE CASCADE) and nulls the audit trail's references to them (ON
// DELETE SET NULL). Queued mail does not reference users and stays. No
// row is user.ErrNotFound.
func (s *Store) DeleteUser(ctx context.Context, userID uuid.UUID) error {
	n, err := s.execCount(ctx, "delete user", `DELETE FROM users WHERE id = $1`, userID)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("delete user %s: %w", userID, user.ErrNotFound)
	}
	return nil
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

// ReplaceEmail sets a user's address, unverified ("" removes it), only
// while the user still has the password hash the change was allowed by;
// it reports whether it did. The verified address of another account is
// user.ErrEmailTaken; one that others have only claimed is free. Call it
// in a transaction.
func (s *Store) ReplaceEmail(ctx context.Context, u user.User, email string, now time.Time) (bool, error) {
	if err := s.checkEmailFree(ctx, u, email); err != nil {
		return false, err
	}
	n, err := s.execCount(ctx, "replace email", replaceEmailSQL, u.ID, nullString(email), ts(now), u.PasswordHash)
	return n == 1, userConflict(err, u)
}

// SetEmailVerified marks the user's address verified at now, if it is
// still email (ignoring case); user.ErrNotFound otherwise, and
// user.ErrEmailTaken when another account has verified it meanwhile.
func (s *Store) SetEmailVerified(ctx context.Context, userID uuid.UUID, email string, now time.Time) error {
	err := s.updateUser(ctx, "set email verified", setEmailVerifiedSQL, userID, email, ts(now))
	if errors.Is(err, errUnique) {
		return fmt.Errorf("verify email of %s: %w", userID, user.ErrEmailTaken)
	}
	return err
}

// ClearEmailClaims removes email (ignoring case) from every account but
// owner that has it unverified, and returns those accounts' ids: owner has
// verified it, and an unverified address holds nothing.
func (s *Store) ClearEmailClaims(ctx context.Context, email string, owner uuid.UUID, now time.Time) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := s.q(ctx).SelectContext(ctx, &ids, clearEmailClaimsSQL, email, owner, ts(now))
	return ids, s.translate("clear email claims", err)
}

// lockUserWithPasswordSQL is LockUserWithPassword's query: the primary
// key, and the hash the caller checked.
func (s *Store) lockUserWithPasswordSQL() string {
	return `SELECT 1 FROM users WHERE id = $1 AND password_hash = $2` + s.d.ForUpdate
}

// LockUserWithPassword locks a user's row until the transaction in ctx
// ends, if the user still has passwordHash, and reports whether they had.
func (s *Store) LockUserWithPassword(ctx context.Context, userID uuid.UUID, passwordHash string) (bool, error) {
	var one int
	err := s.translate("lock user with password", s.q(ctx).GetContext(ctx, &one, s.lockUserWithPasswordSQL(), userID, passwordHash))
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

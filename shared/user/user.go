// Package user holds the user entity, its roles and the rules for usernames
// and passwords.
package user

import (
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
)

// User is an account. Username and Email keep the case they were typed in;
// uniqueness of each is case-insensitive.
type User struct {
	ID           uuid.UUID
	Username     string
	PasswordHash string
	Role         Role
	IsActive     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Email is the user's address, "" for none; EmailVerifiedAt is when a
	// message sent to it proved it, zero until then.
	Email           string
	EmailVerifiedAt time.Time
	// SecondFactor says whether the user has a second factor (an enabled
	// authenticator app or a passkey), so that a password alone no longer
	// logs them in; the store keeps it whatever writes the factors.
	SecondFactor bool
}

// NoPassword is the password hash of an account without a password (one
// made through an identity provider): no password matches it, a login
// with one costs what a wrong password costs, and recovery sets one.
const NoPassword = "!"

// HasPassword reports whether the user has a password to sign in with.
func (u User) HasPassword() bool { return u.PasswordHash != NoPassword }

// EmailVerified reports whether the user's current address is proven.
func (u User) EmailVerified() bool { return u.Email != "" && !u.EmailVerifiedAt.IsZero() }

// Role is a user's place in the hierarchy super_admin > admin > user.
type Role string

// The roles, from the least to the most powerful.
const (
	RoleUser       Role = "user"
	RoleAdmin      Role = "admin"
	RoleSuperAdmin Role = "super_admin"
)

// Rank orders roles: a higher rank may manage a lower one. An unknown role
// ranks below every real one.
func (r Role) Rank() int {
	switch r {
	case RoleUser:
		return 1
	case RoleAdmin:
		return 2
	case RoleSuperAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r.Rank() > 0 }

// ParseRole returns the role named s.
func ParseRole(s string) (Role, error) {
	if r := Role(s); r.Valid() {
		return r, nil
	}
	return "", ErrUnknownRole
}

// Domain errors.
var (
	ErrNotFound      = &apperr.Error{Kind: apperr.KindNotFound, Code: "user_not_found", Message: "user not found"}
	ErrUsernameTaken = &apperr.Error{Kind: apperr.KindConflict, Code: "username_taken", Message: "username is already taken"}
	ErrEmailTaken    = &apperr.Error{Kind: apperr.KindConflict, Code: "email_taken", Message: "this email address belongs to another account"}
	ErrUnknownRole   = &apperr.Error{Kind: apperr.KindInvalid, Code: "unknown_role", Message: "role must be one of user, admin, super_admin"}
)

// NewID returns a new time-ordered (version 7) user id.
func NewID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// New returns an active user created at now, with a new id.
func New(username, passwordHash string, role Role, now time.Time) User {
	now = Timestamp(now)
	return User{ID: NewID(), Username: username, PasswordHash: passwordHash, Role: role, IsActive: true, CreatedAt: now, UpdatedAt: now}
}

// Timestamp returns t as the databases keep it: UTC, to the microsecond.
// Every time the domain stores goes through it, so what is returned equals
// what is read back.
func Timestamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

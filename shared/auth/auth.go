// Package auth holds the authenticated actor, the role hierarchy's
// permissions and the authentication errors.
package auth

import (
	"context"
	"slices"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Actor is who makes a request: a user through a session, or through one
// of their API keys. The zero Actor is anonymous.
type Actor struct {
	User       user.User
	SessionID  []byte    // the stored session id (SHA-256 of the secret); nil for a key
	Methods    []string  // how the session was made (see mfa.AAL)
	APIKey     uuid.UUID // the API key the request was made with; Nil for a session
	SignedInAt time.Time // when the session was made
}

// Authenticated reports whether the actor is a logged-in user, or a user's
// API key.
func (a Actor) Authenticated() bool { return len(a.SessionID) > 0 || a.ViaKey() }

// ViaKey reports whether the actor acts through an API key.
func (a Actor) ViaKey() bool { return !a.APIKey.IsNil() }

// RequireSession returns nil for a signed-in user, ErrSessionRequired for
// an API key and ErrNotAuthenticated for nobody: the check of what only a
// person may do (their credentials, their keys).
func RequireSession(a Actor) error {
	switch {
	case a.ViaKey():
		return ErrSessionRequired
	case !a.Authenticated():
		return ErrNotAuthenticated
	}
	return nil
}

// CanManage reports whether actor may change target: the target's role must
// be strictly below the actor's, which rules out the actor itself, its peers
// and every super admin.
func CanManage(actor user.Role, target user.Role) bool {
	return target.Valid() && target.Rank() < actor.Rank()
}

// CanAssign reports whether actor may give a user role r: only roles
// strictly below its own.
func CanAssign(actor user.Role, r user.Role) bool { return CanManage(actor, r) }

// CanAdminister reports whether actor may manage users at all (admin+).
func CanAdminister(actor user.Role) bool { return actor.Rank() >= user.RoleAdmin.Rank() }

// Authentication and authorization errors.
var (
	ErrNotAuthenticated     = &apperr.Error{Kind: apperr.KindUnauthenticated, Code: "not_authenticated", Message: "log in first"}
	ErrMFARequired          = &apperr.Error{Kind: apperr.KindUnauthenticated, Code: "mfa_required", Message: "finish the login with its second step first"}
	ErrInvalidCredentials   = &apperr.Error{Kind: apperr.KindUnauthenticated, Code: "invalid_credentials", Message: "wrong username or password"}
	ErrForbidden            = &apperr.Error{Kind: apperr.KindForbidden, Code: "forbidden", Message: "you are not allowed to do this"}
	ErrAlreadyAuthenticated = &apperr.Error{Kind: apperr.KindForbidden, Code: "already_authenticated", Message: "you are already logged in; log out first"}
	ErrAccountInactive      = &apperr.Error{Kind: apperr.KindForbidden, Code: "account_inactive", Message: "this account is inactive"}
	ErrWrongPassword        = &apperr.Error{Kind: apperr.KindForbidden, Code: "wrong_password", Message: "the current password is wrong"}
	ErrAAL2Required         = &apperr.Error{Kind: apperr.KindForbidden, Code: "aal2_required", Message: "this change needs a session made with your second factor; log in again with it"}
	// ErrReauthenticationRequired refuses a change by a user without a
	// password from a session not signed in recently (see Guard.Confirm).
	ErrReauthenticationRequired = &apperr.Error{Kind: apperr.KindForbidden, Code: "reauthentication_required", Message: "your account has no password to confirm this change with: sign in again, then make it within 10 minutes"}
	// ErrSessionRequired refuses an API key on a route only a signed-in
	// person may use: their password, address, factors, sessions,
	// identities, own keys, the account itself, login and logout.
	ErrSessionRequired = &apperr.Error{Kind: apperr.KindForbidden, Code: "session_required", Message: "an API key cannot do this: sign in"}
)

// ErrTooManyAttempts returns the throttling error of password attempts,
// retry after the given wait.
func ErrTooManyAttempts(retryAfter time.Duration) *apperr.Error {
	return &apperr.Error{Kind: apperr.KindTooManyRequests, Code: "too_many_attempts", Message: "too many failed attempts; try again later", RetryAfter: retryAfter}
}

// ErrTooManySignups returns the throttling error of signups from one
// client, retry after the given wait.
func ErrTooManySignups(retryAfter time.Duration) *apperr.Error {
	return &apperr.Error{Kind: apperr.KindTooManyRequests, Code: "too_many_attempts", Message: "too many signups from your address; try again later", RetryAfter: retryAfter}
}

type actorKey struct{}

// WithActor returns a context that carries a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx, or the anonymous actor.
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}

// Require returns nil when actor is logged in with at least role min,
// ErrNotAuthenticated when it is not logged in and ErrForbidden otherwise.
func Require(actor Actor, min user.Role) error {
	switch {
	case !actor.Authenticated():
		return ErrNotAuthenticated
	case actor.User.Role.Rank() < min.Rank():
		return ErrForbidden
	}
	return nil
}

// CheckTarget returns ErrForbidden unless actor may manage target: never
// itself, never a peer, never anyone above.
func CheckTarget(actor Actor, target user.User) error {
	if target.ID == actor.User.ID || !CanManage(actor.User.Role, target.Role) {
		return ErrForbidden
	}
	return nil
}

// TargetStore finds the user an admin scenario names.
type TargetStore interface {
	UserByUsername(ctx context.Context, username string) (user.User, error)
}

// Target is the checks of every admin scenario that reads a user named by
// a query's username, in their order: 403 for a caller below admin, 422
// for a bad username or a parameter in unknown (each named), 404 for an
// unknown user, 403 for a target not below the caller (CheckTarget).
func Target(ctx context.Context, store TargetStore, actor Actor, username string, unknown []string) (user.User, error) {
	if err := Require(actor, user.RoleAdmin); err != nil {
		return user.User{}, err
	}
	var fields []apperr.FieldError
	if err := user.CheckUsername(username); err != nil {
		fields = append(fields, apperr.FieldError{Field: "username", Message: err.Error()})
	}
	for _, name := range slices.Sorted(slices.Values(unknown)) {
		fields = append(fields, apperr.FieldError{Field: name, Message: "unknown parameter; use username"})
	}
	if len(fields) > 0 {
		return user.User{}, apperr.Invalid(fields...)
	}
	u, err := store.UserByUsername(ctx, username)
	if err != nil {
		return user.User{}, err
	}
	return u, CheckTarget(actor, u)
}

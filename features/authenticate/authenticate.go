// Package authenticate turns a session cookie, or an API key, into an
// auth.Actor.
//
// A session: it loads the session and its user in one query, refuses
// expired sessions and inactive users (ending what sessions such a user
// still has, as an event of the trail), and renews a session inside its
// refresh window.
//
// An API key (Authorization: Bearer cs_...): a malformed one is refused
// before any query; else it loads the key and its user (role included) in
// one query, and refuses an unknown key, a wrong secret, an expired key
// and an inactive user (revoking what keys such a user still has) with one
// answer, after the same work for an unknown key as for a wrong secret;
// every refusal counts in the client's window of the login throttle (429
// once it is full). A use is written at most once a minute per key.
//
// Both tell whether the user must still enroll the second factor their
// role requires (auth.require_second_factor_for): such an actor reaches
// only the routes mounted with Enrolling or EnrollingOrKey.
package authenticate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// ErrEnrollmentRequired refuses a session of a user whose role requires a
// second factor and who has none, on every route but the few that let
// them enroll one.
var ErrEnrollmentRequired = &apperr.Error{Kind: apperr.KindForbidden, Code: "mfa_enrollment_required",
	Message: "your role requires a second factor: enroll one (an authenticator app or a passkey) first"}

// Interactor authenticates session secrets and API keys.
type Interactor struct {
	store Store
	keys  apikey.Hasher
	cfg   Config
	now   func() time.Time
}

// Config is the policy of authentication.
type Config struct {
	Policy session.Policy // sessions' lifetimes
	Enroll []user.Role    // the roles that must have a second factor
	// Guard's client windows count refused API keys (as failed logins).
	Guard auth.Guard
}

// New returns the interactor; keys checks API keys' secrets.
func New(store Store, keys apikey.Hasher, cfg Config, now func() time.Time) *Interactor {
	return &Interactor{store: store, keys: keys, cfg: cfg, now: now}
}

// Result is an authenticated actor, when it was authenticated, and when its
// session (or key) expires; Renewed says a session's expiry was just
// moved. MustEnroll says the user's role requires a second factor they do
// not have. Scope is a key's (ScopeFull for a session).
type Result struct {
	Actor      auth.Actor
	Now        time.Time
	ExpiresAt  time.Time
	Renewed    bool
	MustEnroll bool
	Scope      apikey.Scope
}

// Execute authenticates the session secret a client presented. source
// says who presented it; it is asked only when an event is recorded (reads
// carry no audit source, to keep them cheap), and may be nil.
func (i *Interactor) Execute(ctx context.Context, secret string, source func() audit.Source) (Result, error) {
	id, err := session.IDFromSecret(secret)
	if err != nil {
		return Result{}, auth.ErrNotAuthenticated
	}
	s, u, err := i.store.SessionWithUser(ctx, id)
	if errors.Is(err, session.ErrNotFound) {
		return Result{}, auth.ErrNotAuthenticated
	}
	if err != nil {
		return Result{}, fmt.Errorf("authenticate: %w", err)
	}
	now := i.now()
	if s.Expired(now) {
		return Result{}, auth.ErrNotAuthenticated
	}
	if !u.IsActive {
		if source != nil {
			ctx = audit.WithSource(ctx, source())
		}
		if err := i.endSessionsOf(ctx, u.ID, now); err != nil {
			return Result{}, fmt.Errorf("authenticate: end sessions of inactive user: %w", err)
		}
		return Result{}, auth.ErrNotAuthenticated
	}
	res := Result{Actor: auth.Actor{User: u, SessionID: s.ID, Methods: s.Methods, SignedInAt: s.CreatedAt}, Now: now, ExpiresAt: s.ExpiresAt, MustEnroll: i.mustEnroll(u), Scope: apikey.ScopeFull}
	if renewed, ok := i.cfg.Policy.Renew(s, now); ok {
		if err := i.store.ExtendSession(ctx, s.ID, renewed.ExpiresAt, renewed.LastSeenAt); err != nil {
			return Result{}, fmt.Errorf("authenticate: renew session: %w", err)
		}
		res.ExpiresAt, res.Renewed = renewed.ExpiresAt, true
	}
	return res, nil
}

// mustEnroll reports whether u's role requires a second factor that u
// does not have: read with the session, at every request, so that a
// factor removed since the login counts at once, at no query of its own.
func (i *Interactor) mustEnroll(u user.User) bool {
	return slices.Contains(i.cfg.Enroll, u.Role) && !u.SecondFactor
}

// endSessionsOf ends every session an inactive user still has (inactivation
// ends them in its own transaction; these were made some other way, a
// direct database change say) and records their end, by nobody (the
// service acted), with the source of the request that presented one.
func (i *Interactor) endSessionsOf(ctx context.Context, userID uuid.UUID, now time.Time) error {
	return i.store.WithinTx(ctx, func(ctx context.Context) error {
		n, err := i.store.DeleteUserSessions(ctx, userID)
		if err != nil {
			return err
		}
		if e, ok := audit.SessionsEnded(ctx, now, uuid.Nil, userID, session.EndedByInactivation, n); ok {
			return i.store.RecordEvent(ctx, e)
		}
		return nil
	})
}

// ExecuteKey authenticates the API key a client at ip presented: its
// user, as the database has it now, acting through it. Every refusal is
// apikey.ErrRefused, counted in ip's window (auth.ErrTooManyAttempts once
// it is full). source is asked only when an event is recorded (the
// revocation of an inactive user's keys), and may be nil.
func (i *Interactor) ExecuteKey(ctx context.Context, key, ip string, source func() audit.Source) (Result, error) {
	id, secret, err := apikey.Parse(key)
	if err != nil {
		return Result{}, i.refuse(ctx, ip) // a typo: no query
	}
	k, u, err := i.store.APIKeyWithUser(ctx, id)
	if err != nil && !errors.Is(err, apikey.ErrNotFound) {
		return Result{}, fmt.Errorf("authenticate key: %w", err)
	}
	// An unknown key (k.Hash nil) costs the hash a wrong secret costs.
	ok, stale := i.keys.MatchAPIKey(id, secret, k.Hash)
	now := i.now()
	if !ok || k.Expired(now) {
		return Result{}, i.refuse(ctx, ip)
	}
	if !u.IsActive {
		if source != nil {
			ctx = audit.WithSource(ctx, source())
		}
		if err := i.revokeKeysOf(ctx, u.ID, now); err != nil {
			return Result{}, fmt.Errorf("authenticate key: revoke keys of inactive user: %w", err)
		}
		return Result{}, i.refuse(ctx, ip)
	}
	if k.UseDue(now) {
		var rehash []byte
		if stale {
			rehash = i.keys.HashAPIKey(id, secret)
		}
		if err := i.store.UseAPIKey(ctx, id, user.Timestamp(now), ip, rehash); err != nil {
			return Result{}, fmt.Errorf("authenticate key: record use: %w", err)
		}
	}
	return Result{Actor: auth.Actor{User: u, APIKey: id}, Now: now, ExpiresAt: k.ExpiresAt, MustEnroll: i.mustEnroll(u), Scope: k.Scope}, nil
}

// refuse counts a refused key in the window of the client at ip, the one
// failed logins count in, and returns the refusal: apikey.ErrRefused, or
// auth.ErrTooManyAttempts once the window is full. A refusal stays
// counted.
func (i *Interactor) refuse(ctx context.Context, ip string) error {
	g := i.cfg.Guard
	if _, err := auth.Reserve(ctx, i.store, i.now(), g.Window, auth.ErrTooManyAttempts, g.ClientLimit(ip)); err != nil {
		return err
	}
	return apikey.ErrRefused
}

// revokeKeysOf revokes every key an inactive user still has (inactivation
// revokes them in its own transaction; these were made some other way, a
// direct database change say), by nobody, with the source of the request
// that presented one.
func (i *Interactor) revokeKeysOf(ctx context.Context, userID uuid.UUID, now time.Time) error {
	return i.store.WithinTx(ctx, func(ctx context.Context) error {
		_, err := apikey.RevokeAll(ctx, i.store, now, uuid.Nil, userID, apikey.RevokedByInactivation)
		return err
	})
}

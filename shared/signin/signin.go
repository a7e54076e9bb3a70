// Package signin is the end of every way of logging in (a password, a
// second step, a passkey): the new session stored only while the account
// is still as the login found it, the user's oldest sessions past the
// limit ended, and login.succeeded recorded with how the session was
// made, all in the caller's transaction.
package signin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Store is what ending a login writes.
type Store interface {
	InsertSessionIfCurrent(ctx context.Context, s session.Session, passwordHash string) (bool, error)
	DeleteOldestSessions(ctx context.Context, userID uuid.UUID, keep int) (int, error)
	RecordEvent(ctx context.Context, e audit.Event) error
}

// Rules are the session policy and the per-user session limit.
type Rules struct {
	Policy          session.Policy
	SessionsPerUser int
}

// Login is a login that succeeded: whose, under which password hash (the
// one verified, or read), made with which methods, from which client, and
// what else login.succeeded should say.
type Login struct {
	User         user.User
	PasswordHash string
	Methods      []string
	UserAgent    string
	IP           string
	Details      map[string]any
}

// ErrAccountChanged is a login whose account was inactivated, or given
// another password, since the login read it: no session is stored.
var ErrAccountChanged = errors.New("the account changed during the login")

// Start stores the login's session, in the transaction in ctx, and
// returns it with its secret (for the client alone). The session is
// stored only if the user is still active with PasswordHash, under the
// user's row lock: an inactivation or a password change racing with the
// login either waits and then deletes the new session, or wins, and the
// login gets ErrAccountChanged.
func (r Rules) Start(ctx context.Context, store Store, now time.Time, l Login) (session.Session, string, error) {
	secret, id := session.NewSecret()
	s := r.Policy.Start(id, l.User.ID, now).MadeWith(l.Methods)
	s.UserAgent, s.IP = session.CleanUserAgent(l.UserAgent), l.IP
	stored, err := store.InsertSessionIfCurrent(ctx, s, l.PasswordHash)
	if err != nil {
		return session.Session{}, "", err
	}
	if !stored {
		return session.Session{}, "", ErrAccountChanged
	}
	ended, err := store.DeleteOldestSessions(ctx, l.User.ID, r.SessionsPerUser)
	if err != nil {
		return session.Session{}, "", fmt.Errorf("session limit: %w", err)
	}
	details := map[string]any{"methods": s.Methods}
	for k, v := range l.Details {
		details[k] = v
	}
	if err := store.RecordEvent(ctx, audit.New(ctx, now, audit.LoginSucceeded, l.User.ID, l.User.ID, details)); err != nil {
		return session.Session{}, "", err
	}
	if e, ok := audit.SessionsEnded(ctx, now, l.User.ID, l.User.ID, session.EndedByLimit, ended); ok {
		if err := store.RecordEvent(ctx, e); err != nil {
			return session.Session{}, "", err
		}
	}
	return s, secret, nil
}

// ReissueStore is what re-issuing a user's session writes.
type ReissueStore interface {
	DeleteUserSessions(ctx context.Context, userID uuid.UUID) (int, error)
	InsertSession(ctx context.Context, s session.Session) error
	RecordEvent(ctx context.Context, e audit.Event) error
}

// Reissue is the end of a change that makes every session of a user
// worthless (their password changed, their first second factor
// enrolled): in the caller's transaction, every session of userID ends
// (session.ended with reason and the count), and the caller, from the
// client at ip with userAgent, gets a new session made with methods (a new
// id and cookie, never the old one extended).
func (r Rules) Reissue(ctx context.Context, store ReissueStore, now time.Time, userID uuid.UUID, methods []string, userAgent, ip string, reason session.EndReason) (session.Session, string, error) {
	secret, id := session.NewSecret()
	s := r.Policy.Start(id, userID, now).MadeWith(methods)
	s.UserAgent, s.IP = session.CleanUserAgent(userAgent), ip
	ended, err := store.DeleteUserSessions(ctx, userID)
	if err != nil {
		return session.Session{}, "", err
	}
	if err := store.InsertSession(ctx, s); err != nil {
		return session.Session{}, "", err
	}
	if e, ok := audit.SessionsEnded(ctx, now, userID, userID, reason, ended); ok {
		if err := store.RecordEvent(ctx, e); err != nil {
			return session.Session{}, "", err
		}
	}
	return s, secret, nil
}

// EnrollStore is what the enrollment of a first second factor writes.
type EnrollStore interface {
	mfa.CodeStore
	ReissueStore
}

// Enrollment is a second factor just added, in its transaction: the
// user's factors read in it before the addition, the method of the new
// factor, the caller's session methods and client, and how recovery codes
// are stored (see mfa.IssueRecoveryCodes).
type Enrollment struct {
	UserID    uuid.UUID
	Before    mfa.Factors
	Method    string   // mfa.MethodTOTP or mfa.MethodWebAuthn
	Methods   []string // the caller's session's
	UserAgent string
	IP        string
	SealCode  func(userID uuid.UUID, code string) mfa.StoredCode
}

// Enrolled is what a first factor gives: the recovery codes (shown once)
// and the caller's new session at aal 2 with its secret. It is zero for a
// later factor.
type Enrolled struct {
	RecoveryCodes []string
	Session       session.Session
	Secret        string
}

// First reports whether the enrollment gave anything (it was the first).
func (e Enrolled) First() bool { return e.Secret != "" }

// Enroll applies the rules of a user's first second factor, in the
// transaction that adds it: recovery codes come with it, and every
// session of the user ends (session.ended, reason mfa_enrolled: a session
// made with the password alone no longer belongs to this account), while
// the caller gets a new one at aal 2, having just proven both factors.
// Nothing happens for a later factor.
func (r Rules) Enroll(ctx context.Context, store EnrollStore, now time.Time, e Enrollment) (Enrolled, error) {
	if e.Before.Any() {
		return Enrolled{}, nil
	}
	codes, err := mfa.IssueRecoveryCodes(ctx, store, e.SealCode, e.UserID, now)
	if err != nil {
		return Enrolled{}, err
	}
	methods := append(slices.Clone(e.Methods), e.Method)
	s, secret, err := r.Reissue(ctx, store, now, e.UserID, methods, e.UserAgent, e.IP, session.EndedByEnrollment)
	if err != nil {
		return Enrolled{}, err
	}
	return Enrolled{RecoveryCodes: codes, Session: s, Secret: secret}, nil
}

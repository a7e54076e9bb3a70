// Package registerpasskey adds a passkey (or a security key) to the
// caller's account, in two steps: Begin, after the current password,
// returns the options navigator.credentials.create takes and keeps the
// ceremony; Finish verifies the browser's answer, on any replica, and
// stores the credential under the name the user gives it. The first
// factor also returns a set of recovery codes, shown once.
package registerpasskey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/signin"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Interactor registers passkeys.
type Interactor struct {
	store  Store
	mailer Mailer
	hasher Hasher
	rp     RelyingParty
	keys   Keys
	cfg    Config
	now    func() time.Time
}

// Config is the registration's policy.
type Config struct {
	Guard  auth.Guard   // throttles the current-password check
	SignIn signin.Rules // a first factor re-issues the caller's session
}

// New returns the interactor.
func New(store Store, mailer Mailer, hasher Hasher, rp RelyingParty, keys Keys, cfg Config, now func() time.Time) *Interactor {
	return &Interactor{store: store, mailer: mailer, hasher: hasher, rp: rp, keys: keys, cfg: cfg, now: now}
}

// BeginInput is the caller's current password and address.
type BeginInput struct {
	CurrentPassword string
	ClientIP        string
}

// Action is this check's details.action in reauthentication.failed.
const Action = "webauthn_register"

// Begin checks the password (an account without one: a sign-in within 10
// minutes, see auth.Guard.Confirm) and begins a registration.
func (i *Interactor) Begin(ctx context.Context, actor auth.Actor, in BeginInput) (json.RawMessage, error) {
	if !actor.Authenticated() {
		return nil, auth.ErrNotAuthenticated
	}
	if in.CurrentPassword == "" && actor.User.HasPassword() {
		return nil, apperr.Invalid(apperr.FieldError{Field: "current_password", Message: "current_password is required"})
	}
	u, now := actor.User, i.now()
	r, err := i.cfg.Guard.Confirm(ctx, i.store, i.hasher, now, actor, in.CurrentPassword, in.ClientIP, Action)
	if err != nil {
		return nil, fmt.Errorf("begin passkey registration: %w", err)
	}
	var opts json.RawMessage
	err = r.Change(ctx, func(ctx context.Context) error {
		acct, err := mfa.AccountOf(ctx, i.store, u.ID, u.Username)
		if err != nil {
			return err
		}
		o, c, err := i.rp.BeginRegistration(acct)
		if err != nil {
			return err
		}
		c.UserID, c.ExpiresAt = u.ID, now.Add(mfa.CeremonyTTL)
		opts = o
		return i.store.InsertCeremony(ctx, c)
	})
	if err != nil {
		return nil, fmt.Errorf("begin passkey registration of %s: %w", u.Username, err)
	}
	return opts, nil
}

// FinishInput is the name the user gives the passkey, the browser's
// answer (the PublicKeyCredential as JSON), and the caller's client.
type FinishInput struct {
	Name       string
	Credential json.RawMessage
	ClientIP   string
	UserAgent  string
}

// Result is the stored passkey, and what a first factor gives (the
// recovery codes and the caller's new session).
type Result struct {
	Passkey mfa.Passkey
	signin.Enrolled
}

// Finish verifies the answer to a registration the caller began (422
// invalid_credential, or challenge_expired when the ceremony is over or
// was used: a challenge is used once, whatever the outcome) and stores the
// credential.
func (i *Interactor) Finish(ctx context.Context, actor auth.Actor, in FinishInput) (Result, error) {
	if !actor.Authenticated() {
		return Result{}, auth.ErrNotAuthenticated
	}
	name := strings.TrimSpace(in.Name)
	var fields []apperr.FieldError
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		fields = append(fields, apperr.FieldError{Field: "name", Message: "name is required"})
	case n > mfa.MaxPasskeyName:
		fields = append(fields, apperr.FieldError{Field: "name", Message: fmt.Sprintf("name must be at most %d characters", mfa.MaxPasskeyName)})
	case !user.PlainText(name):
		fields = append(fields, apperr.FieldError{Field: "name", Message: "name must not contain control or invisible formatting characters"})
	}
	if !mfa.Given(in.Credential) {
		fields = append(fields, apperr.FieldError{Field: "credential", Message: "credential is required"})
	}
	if len(fields) > 0 {
		return Result{}, apperr.Invalid(fields...)
	}
	u, now := actor.User, i.now()
	p, err := i.verified(ctx, now, u, in.Credential)
	if err != nil {
		return Result{}, fmt.Errorf("finish passkey registration of %s: %w", u.Username, err)
	}
	p.PublicID, p.UserID, p.Name, p.CreatedAt = uuid.Must(uuid.NewV7()), u.ID, name, user.Timestamp(now)
	var res Result
	err = i.store.WithinTx(ctx, func(ctx context.Context) error {
		before, err := i.store.Factors(ctx, u.ID)
		if err != nil {
			return err
		}
		if err := auth.Assured(actor, before); err != nil {
			return err // a factor enrolled since Begin
		}
		if err := i.store.InsertPasskey(ctx, p); err != nil {
			return err
		}
		if notice, ok := mail.SecondFactorChanged(u, fmt.Sprintf("a passkey named %q was added", name)); ok {
			if err := i.mailer.Queue(ctx, notice); err != nil {
				return err
			}
		}
		if err := i.store.RecordEvent(ctx, audit.New(ctx, now, audit.WebAuthnAdded, u.ID, u.ID, map[string]any{"passkey": p.PublicID.String(), "name": name})); err != nil {
			return err
		}
		res.Passkey = p
		res.Enrolled, err = i.cfg.SignIn.Enroll(ctx, i.store, now, signin.Enrollment{UserID: u.ID, Before: before, Method: mfa.MethodWebAuthn,
			Methods: actor.Methods, UserAgent: in.UserAgent, IP: in.ClientIP, SealCode: i.keys.SealRecoveryCode})
		return err
	})
	if err != nil {
		return Result{}, fmt.Errorf("finish passkey registration of %s: %w", u.Username, err)
	}
	return res, nil
}

// verified takes the ceremony the answer belongs to and verifies the
// answer against it.
func (i *Interactor) verified(ctx context.Context, now time.Time, u user.User, credential []byte) (mfa.Passkey, error) {
	c, err := mfa.TakeCeremony(ctx, i.store, i.rp, credential, mfa.CeremonyRegister, u.ID, now)
	switch {
	case errors.Is(err, mfa.ErrChallengeExpired):
		return mfa.Passkey{}, mfa.ErrRegistrationExpired // the caller's input, not their session
	case errors.Is(err, mfa.ErrInvalidCredential):
		return mfa.Passkey{}, mfa.ErrInvalidRegistration
	case err != nil:
		return mfa.Passkey{}, err
	}
	acct, err := mfa.AccountOf(ctx, i.store, u.ID, u.Username)
	if err != nil {
		return mfa.Passkey{}, err
	}
	return i.rp.FinishRegistration(acct, c, credential)
}

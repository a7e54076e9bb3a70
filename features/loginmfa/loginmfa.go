// Package loginmfa is the second step of a login: the holder of a pending
// login (a right password, see login) gives a TOTP code, a recovery code,
// or a passkey's answer, and gets a new session at assurance level 2.
// Second steps are throttled twice: a pending login ends after
// mfa.MaxCodeAttempts of them, and every wrong one counts in the user's
// login window, so starting over gives no more tries.
package loginmfa

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/signin"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Interactor finishes pending logins.
type Interactor struct {
	store Store
	keys  Keys
	codes mfa.Codes
	rp    RelyingParty
	cfg   Config
	now   func() time.Time
}

// Config is the second step's policy.
type Config struct {
	SignIn     signin.Rules       // the session policy and the per-user session limit
	Guard      auth.Guard         // the login windows wrong second steps count in
	Ceremonies auth.CeremonyLimit // the passkey ceremonies a client may begin
}

// New returns the interactor: keys open TOTP secrets and digest recovery
// codes, codes is the TOTP mathematics, rp runs passkey assertions.
func New(store Store, keys Keys, codes mfa.Codes, rp RelyingParty, cfg Config, now func() time.Time) *Interactor {
	return &Interactor{store: store, keys: keys, codes: codes, rp: rp, cfg: cfg, now: now}
}

// Input is the pending login's secret (from its cookie), one proof (a TOTP
// code, a recovery code, or a passkey's answer to Begin's options), and
// the client the session is recorded for.
type Input struct {
	Secret       string
	Code         string
	RecoveryCode string
	Credential   json.RawMessage
	ClientIP     string
	UserAgent    string
}

// Result is the logged-in user and the new session with its secret.
type Result struct {
	User    user.User
	Session session.Session
	Secret  string
}

// Begin returns the options of a passkey assertion for the pending
// login's user (navigator.credentials.get takes them), and keeps the
// ceremony for Finish, on any replica.
func (i *Interactor) Begin(ctx context.Context, actor auth.Actor, secret, clientIP string) (json.RawMessage, error) {
	p, u, err := i.pendingLogin(ctx, actor, secret)
	if err != nil {
		return nil, err
	}
	now := i.now()
	if err := i.cfg.Ceremonies.Reserve(ctx, i.store, now, clientIP); err != nil {
		return nil, fmt.Errorf("begin passkey step of %s: %w", u.Username, err)
	}
	acct, err := mfa.AccountOf(ctx, i.store, u.ID, u.Username)
	if err != nil {
		return nil, fmt.Errorf("begin passkey step of %s: %w", u.Username, err)
	}
	if len(acct.Passkeys) == 0 {
		return nil, mfa.ErrNoSecondFactor
	}
	opts, c, err := i.rp.BeginLogin(acct)
	if err != nil {
		return nil, fmt.Errorf("begin passkey step of %s: %w", u.Username, err)
	}
	c.UserID, c.ExpiresAt = p.UserID, now.Add(mfa.CeremonyTTL)
	if err := i.store.InsertCeremony(ctx, c); err != nil {
		return nil, fmt.Errorf("begin passkey step of %s: %w", u.Username, err)
	}
	return opts, nil
}

// pendingLogin returns the live pending login of secret and its user,
// for an anonymous actor.
func (i *Interactor) pendingLogin(ctx context.Context, actor auth.Actor, secret string) (session.Pending, user.User, error) {
	if actor.Authenticated() {
		return session.Pending{}, user.User{}, auth.ErrAlreadyAuthenticated
	}
	id, err := session.PendingIDFromSecret(secret)
	if err != nil {
		return session.Pending{}, user.User{}, auth.ErrNotAuthenticated
	}
	p, err := i.store.PendingLogin(ctx, id, i.now())
	if err != nil {
		return session.Pending{}, user.User{}, notAuthenticated(err)
	}
	u, err := i.store.UserByID(ctx, p.UserID)
	return p, u, notAuthenticated(err)
}

// notAuthenticated is err, where a missing pending login or user is
// auth.ErrNotAuthenticated.
func notAuthenticated(err error) error {
	if errors.Is(err, session.ErrNotFound) || errors.Is(err, user.ErrNotFound) {
		return auth.ErrNotAuthenticated // over, used, or ended by its wrong attempts
	}
	if err != nil {
		return fmt.Errorf("login second step: %w", err)
	}
	return nil
}

// Finish checks the proof and, when it is right, ends the pending login
// and starts a session in one transaction: a proof is used once (of two
// uses of one TOTP code, one recovery code or one passkey answer, one
// wins), and the session is stored only while the user is active with the
// password the first step verified. The session is made with the first
// step's method (a password, or an identity provider) and the proof's.
func (i *Interactor) Finish(ctx context.Context, actor auth.Actor, in Input) (Result, error) {
	if actor.Authenticated() {
		return Result{}, auth.ErrAlreadyAuthenticated
	}
	id, err := session.PendingIDFromSecret(in.Secret)
	if err != nil {
		return Result{}, auth.ErrNotAuthenticated
	}
	if given := btoi(in.Code != "") + btoi(in.RecoveryCode != "") + btoi(mfa.Given(in.Credential)); given != 1 {
		msg := "give one of code, recovery_code and credential"
		return Result{}, apperr.Invalid(apperr.FieldError{Field: "code", Message: msg},
			apperr.FieldError{Field: "recovery_code", Message: msg}, apperr.FieldError{Field: "credential", Message: msg})
	}
	now := i.now()
	// Counted before the proof is checked, in the pending login and in the
	// login windows: however many arrive at once, no more than the limits
	// are ever checked.
	p, err := i.store.CountPendingAttempt(ctx, id, now, mfa.MaxCodeAttempts)
	if err != nil {
		return Result{}, notAuthenticated(err)
	}
	u, err := i.store.UserByID(ctx, p.UserID)
	if err != nil {
		return Result{}, notAuthenticated(err)
	}
	attempt, err := i.cfg.Guard.Reserve(ctx, i.store, now, u.Username, in.ClientIP)
	if err != nil {
		return Result{}, fmt.Errorf("login second step of %s: %w", u.Username, err)
	}
	res, err := i.finish(ctx, now, attempt, p, u, in)
	if reason, wrong := wrongProof(err); wrong {
		// A wrong proof stays counted; the last one allowed ends the
		// pending login.
		if ferr := i.wrong(ctx, now, p, u, reason); ferr != nil {
			return Result{}, fmt.Errorf("login second step of %s: %w", u.Username, ferr)
		}
	} else if err != nil {
		err = attempt.Abandon(ctx, err)
	}
	if err != nil {
		return Result{}, fmt.Errorf("login second step of %s: %w", u.Username, err)
	}
	return res, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// wrongProof reports whether err is a wrong second step, and the
// login.failed reason it is recorded with.
func wrongProof(err error) (string, bool) {
	switch {
	case errors.Is(err, mfa.ErrInvalidCode):
		return audit.ReasonWrongCode, true
	case mfa.Cloned(err):
		return audit.ReasonClonedCredential, true
	case errors.Is(err, mfa.ErrInvalidCredential), errors.Is(err, mfa.ErrChallengeExpired):
		return audit.ReasonInvalidCredential, true
	}
	return "", false
}

// finish checks the proof and, when it is right, makes the session.
func (i *Interactor) finish(ctx context.Context, now time.Time, attempt auth.Attempt, p session.Pending, u user.User, in Input) (Result, error) {
	method, use, details, err := i.check(ctx, now, u, in)
	if err != nil {
		return Result{}, err
	}
	var res Result
	err = i.store.WithinTx(ctx, func(ctx context.Context) error {
		if ended, err := i.store.DeletePendingLogin(ctx, p.ID); err != nil || !ended {
			return cmp.Or[error](err, auth.ErrNotAuthenticated) // another second step used it
		}
		if used, err := use(ctx); err != nil || !used {
			return cmp.Or[error](err, mfa.ErrInvalidCode) // used meanwhile
		}
		if err := attempt.Succeeded(ctx); err != nil {
			return err
		}
		if method == mfa.MethodRecoveryCode {
			f, err := i.store.Factors(ctx, u.ID)
			if err != nil {
				return err
			}
			details = map[string]any{"recovery_codes_left": f.RecoveryCodesLeft}
		}
		s, secret, err := i.cfg.SignIn.Start(ctx, i.store, now, signin.Login{User: u, PasswordHash: p.VerifiedHash,
			Methods: []string{p.Method, method}, UserAgent: in.UserAgent, IP: in.ClientIP, Details: details})
		res = Result{User: u, Session: s, Secret: secret}
		return err
	})
	if errors.Is(err, signin.ErrAccountChanged) {
		return Result{}, i.changed(ctx, p)
	}
	return res, err
}

// check checks the proof (mfa.ErrInvalidCode or a passkey refusal when it
// is wrong) and returns the method it is of and how to use it up, in the
// session's transaction.
func (i *Interactor) check(ctx context.Context, now time.Time, u user.User, in Input) (string, func(context.Context) (bool, error), map[string]any, error) {
	switch {
	case mfa.Given(in.Credential):
		used, old, err := i.passkey(ctx, now, u, in.Credential)
		if err != nil {
			return "", nil, nil, err
		}
		return mfa.MethodWebAuthn, func(ctx context.Context) (bool, error) {
			return i.store.UsePasskey(ctx, used, old, now)
		}, map[string]any{"passkey": used.PublicID.String()}, nil
	case in.RecoveryCode != "":
		code, ok := mfa.NormalizeRecoveryCode(in.RecoveryCode)
		if !ok {
			return "", nil, nil, mfa.ErrInvalidCode
		}
		digests := i.keys.RecoveryDigests(code)
		return mfa.MethodRecoveryCode, func(ctx context.Context) (bool, error) {
			return i.store.UseRecoveryCode(ctx, u.ID, digests)
		}, nil, nil
	}
	t, ok, err := i.store.TOTP(ctx, u.ID)
	if err != nil {
		return "", nil, nil, err
	}
	if !ok || !t.Enabled() {
		return "", nil, nil, mfa.ErrInvalidCode
	}
	step, resealed, ok, err := mfa.CheckCode(i.keys, i.codes, u.ID, t, in.Code, now)
	if err != nil {
		return "", nil, nil, err
	}
	if !ok {
		return "", nil, nil, mfa.ErrInvalidCode
	}
	return mfa.MethodTOTP, func(ctx context.Context) (bool, error) {
		return i.store.AcceptTOTPStep(ctx, u.ID, step, resealed)
	}, nil, nil
}

// passkey verifies a passkey's answer to a ceremony Begin began for u: the
// ceremony is taken first, so that its challenge is used once whatever
// the outcome. It returns the credential as it is now, and its counter as
// stored (the use must still find it so).
func (i *Interactor) passkey(ctx context.Context, now time.Time, u user.User, credential []byte) (mfa.Passkey, uint32, error) {
	c, err := mfa.TakeCeremony(ctx, i.store, i.rp, credential, mfa.CeremonySecondStep, u.ID, now)
	if err != nil {
		return mfa.Passkey{}, 0, err
	}
	acct, err := mfa.AccountOf(ctx, i.store, u.ID, u.Username)
	if err != nil {
		return mfa.Passkey{}, 0, err
	}
	used, err := i.rp.FinishLogin(acct, c, credential)
	if err != nil {
		return mfa.Passkey{}, 0, err
	}
	stored, _ := acct.Passkey(used.ID)
	return used, stored.SignCount, nil
}

// wrong records a wrong second step, and ends the pending login when it
// was the last one allowed.
func (i *Interactor) wrong(ctx context.Context, now time.Time, p session.Pending, u user.User, reason string) error {
	return i.store.WithinTx(ctx, func(ctx context.Context) error {
		if p.Attempts >= mfa.MaxCodeAttempts {
			if _, err := i.store.DeletePendingLogin(ctx, p.ID); err != nil {
				return err
			}
		}
		return i.store.RecordEvent(ctx, audit.LoginFailure(ctx, now, u.ID, reason))
	})
}

// changed ends a pending login whose account changed after its password
// was verified: it can never finish. The answer is the one of a wrong
// password.
func (i *Interactor) changed(ctx context.Context, p session.Pending) error {
	if _, err := i.store.DeletePendingLogin(ctx, p.ID); err != nil {
		return err
	}
	return auth.ErrInvalidCredentials
}

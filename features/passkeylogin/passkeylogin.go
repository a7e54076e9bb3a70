// Package passkeylogin signs in with a discoverable passkey: neither
// username nor password. Begin returns the options of an assertion any
// passkey of this service may answer (user verification required); Finish
// verifies the answer, on any replica, finds the account by the user
// handle the passkey gives back, and starts a session that counts as two
// factors (something held, and the PIN or biometric that unlocked it).
package passkeylogin

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/signin"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Interactor signs in with passkeys.
type Interactor struct {
	store Store
	rp    RelyingParty
	rules signin.Rules
	limit auth.CeremonyLimit
	now   func() time.Time
}

// New returns the interactor; limit bounds the ceremonies a client
// begins.
func New(store Store, rp RelyingParty, rules signin.Rules, limit auth.CeremonyLimit, now func() time.Time) *Interactor {
	return &Interactor{store: store, rp: rp, rules: rules, limit: limit, now: now}
}

// Begin returns the options of a discoverable assertion and keeps the
// ceremony; 429 past the client's limit of ceremonies.
func (i *Interactor) Begin(ctx context.Context, actor auth.Actor, clientIP string) (json.RawMessage, error) {
	if actor.Authenticated() {
		return nil, auth.ErrAlreadyAuthenticated
	}
	if err := i.limit.Reserve(ctx, i.store, i.now(), clientIP); err != nil {
		return nil, fmt.Errorf("begin passkey sign-in: %w", err)
	}
	opts, c, err := i.rp.BeginPasskey()
	if err != nil {
		return nil, fmt.Errorf("begin passkey sign-in: %w", err)
	}
	c.ExpiresAt = i.now().Add(mfa.CeremonyTTL)
	if err := i.store.InsertCeremony(ctx, c); err != nil {
		return nil, fmt.Errorf("begin passkey sign-in: %w", err)
	}
	return opts, nil
}

// Input is the browser's answer and the client the session is recorded
// for.
type Input struct {
	Credential json.RawMessage
	ClientIP   string
	UserAgent  string
}

// Result is the signed-in user and the new session with its secret.
type Result struct {
	User    user.User
	Session session.Session
	Secret  string
}

// Execute verifies the answer (401 invalid_credential, challenge_expired;
// a challenge is used once, whatever the outcome) and starts the session;
// an inactive account gets 403 account_inactive. A refused answer to a
// ceremony of ours is recorded as login.failed (see refused).
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) (Result, error) {
	if actor.Authenticated() {
		return Result{}, auth.ErrAlreadyAuthenticated
	}
	if !mfa.Given(in.Credential) {
		return Result{}, mfa.ErrInvalidCredential
	}
	now := i.now()
	// An answer to no live passwordless ceremony of ours (none named, an
	// unknown, used or expired one, another purpose's) tried no account,
	// and is not recorded: anyone could write to the trail without limit.
	// Past this point each refusal is, bounded by the ceremonies a client
	// may begin.
	c, err := mfa.TakeCeremony(ctx, i.store, i.rp, in.Credential, mfa.CeremonyPasskey, uuid.Nil, now)
	if err != nil {
		return Result{}, fmt.Errorf("passkey sign-in: %w", err)
	}
	a, err := i.verified(ctx, c, in.Credential)
	if err != nil {
		return Result{}, i.refused(ctx, now, a.target(), fmt.Errorf("passkey sign-in: %w", err))
	}
	u := a.user
	if !u.IsActive {
		err := i.store.WithinTx(ctx, func(ctx context.Context) error {
			return i.store.RecordEvent(ctx, audit.LoginFailure(ctx, now, u.ID, audit.ReasonAccountInactive))
		})
		return Result{}, cmp.Or(err, error(auth.ErrAccountInactive))
	}
	var res Result
	err = i.store.WithinTx(ctx, func(ctx context.Context) error {
		if ok, err := i.store.UsePasskey(ctx, a.key, a.count, now); err != nil || !ok {
			return cmp.Or[error](err, mfa.ErrInvalidCredential) // used meanwhile
		}
		s, secret, err := i.rules.Start(ctx, i.store, now, signin.Login{User: u, PasswordHash: u.PasswordHash,
			Methods: []string{mfa.MethodWebAuthn}, UserAgent: in.UserAgent, IP: in.ClientIP, Details: map[string]any{"passkey": a.key.PublicID.String()}})
		res = Result{User: u, Session: s, Secret: secret}
		return err
	})
	if errors.Is(err, signin.ErrAccountChanged) {
		err = mfa.ErrInvalidCredential // inactivated or re-passworded meanwhile: try again
	}
	if err != nil {
		return Result{}, i.refused(ctx, now, a.target(), fmt.Errorf("passkey sign-in of %s: %w", u.Username, err))
	}
	return res, nil
}

// refused records a refused answer as login.failed, reason
// cloned_credential (a signature counter gone back: logged as well) or
// invalid_credential, its target the account when the answer's credential
// is one of its own (else none: an answer names any account it likes),
// and returns err, or the fault of recording it. A fault is no refusal:
// returned as it is, unrecorded.
func (i *Interactor) refused(ctx context.Context, now time.Time, target uuid.UUID, err error) error {
	var reason string
	switch {
	case mfa.Cloned(err):
		reason = audit.ReasonClonedCredential
	case errors.Is(err, mfa.ErrInvalidCredential):
		reason = audit.ReasonInvalidCredential
	default:
		return err
	}
	rerr := i.store.WithinTx(ctx, func(ctx context.Context) error {
		return i.store.RecordEvent(ctx, audit.LoginFailure(ctx, now, target, reason))
	})
	return cmp.Or(rerr, err)
}

// answer is what an answer showed: the account its user handle names,
// whether its credential is one of that account's, and when it verified,
// that credential as it is now and its counter as stored.
type answer struct {
	user  user.User
	known bool
	key   mfa.Passkey
	count uint32
}

// target is the account a refusal of the answer is recorded against: the
// one whose credential it names, else none.
func (a answer) target() uuid.UUID {
	if !a.known {
		return uuid.Nil
	}
	return a.user.ID
}

// verified finds the account the answer to the ceremony c names and
// verifies the answer by one of its credentials.
func (i *Interactor) verified(ctx context.Context, c mfa.Ceremony, credential []byte) (answer, error) {
	handle, err := i.rp.UserHandle(credential)
	if err != nil {
		return answer{}, err
	}
	userID, err := i.store.UserIDByHandle(ctx, handle)
	if err != nil {
		return answer{}, err
	}
	u, err := i.store.UserByID(ctx, userID)
	if errors.Is(err, user.ErrNotFound) {
		return answer{}, mfa.ErrInvalidCredential
	}
	if err != nil {
		return answer{}, err
	}
	keys, err := i.store.Passkeys(ctx, u.ID)
	if err != nil {
		return answer{}, err
	}
	acct := mfa.Account{Handle: handle, Name: u.Username, Passkeys: keys}
	id, err := i.rp.CredentialID(credential)
	if err != nil {
		return answer{}, err
	}
	_, known := acct.Passkey(id)
	a := answer{user: u, known: known}
	used, err := i.rp.FinishPasskey(acct, c, credential)
	if err != nil {
		return a, err
	}
	stored, _ := acct.Passkey(used.ID)
	a.key, a.count = used, stored.SignCount
	return a, nil
}

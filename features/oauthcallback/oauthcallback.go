// Package oauthcallback finishes a flow with an identity provider where
// the provider sends the browser back. It spends the flow (once, on any
// replica), checks that the browser is the one that began it (the binding
// cookie), exchanges the code and verifies the answer (platform/oidc,
// before any transaction), and then, in one transaction, does what
// identity.Decide says (sign the identity's user in, create an account,
// link into the account that verified the address, or refuse) or, for a
// flow begun by a signed-in user, links the identity to them. A user with
// a second factor gets a pending login, which loginmfa finishes. Every
// refused callback counts in the client's login window and is recorded as
// login.failed; the browser goes back to return_to with #error=<code>.
package oauthcallback

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/identity"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/signin"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Interactor finishes flows.
type Interactor struct {
	store     Store
	providers Providers
	mailer    Mailer
	outcomes  Outcomes
	cfg       Config
	now       func() time.Time
}

// Config is the callback's policy.
type Config struct {
	SignIn        signin.Rules          // the session policy and the per-user session limit
	Guard         auth.Guard            // the client's login window, which refused callbacks count in
	Flows         identity.Flows        // how a flow's verifier is opened
	SignupsPerIP  int                   // auth.max_signups_per_ip (0: none counted), as at signup
	SignupWindow  time.Duration         // auth.signup_window
	Verifications onetime.Verifications // a new account's address's message
	EmailRequired bool                  // auth.require_email
	PendingTTL    time.Duration         // how long a second step may wait
	Log           *slog.Logger          // a provider's failures
}

// New returns the interactor.
func New(store Store, providers Providers, mailer Mailer, outcomes Outcomes, cfg Config, now func() time.Time) *Interactor {
	return &Interactor{store: store, providers: providers, mailer: mailer, outcomes: outcomes, cfg: cfg, now: now}
}

// Input is what the provider sent back (through the browser), the binding
// cookie the browser came with, and the client.
type Input struct {
	Provider  string
	State     string
	Code      string
	Error     string // the provider's error parameter: the user cancelled, the provider refused
	Binding   string
	ClientIP  string
	UserAgent string
}

// Result is where the browser goes (return_to, with #error=<code> or
// #mfa_required when so) and, when the sign-in made one, the new session
// or the pending login, with its secret.
type Result struct {
	Location string
	Session  *session.Session
	Pending  *session.Pending
	Secret   string
}

// Execute finishes the flow of in.State: 404 for an unknown provider, 429
// while the client's login window is full; every other refusal is a
// Result whose Location carries the refusal's code.
func (i *Interactor) Execute(ctx context.Context, in Input) (Result, error) {
	p, ok := i.providers.Provider(in.Provider)
	if !ok {
		return Result{}, identity.ErrProviderNotFound
	}
	// Without this browser's binding cookie the flow was not begun here:
	// refused before anything is spent or counted. There is nothing to
	// guess (a state is 256 random bits), and a page elsewhere that makes
	// its visitors' browsers load callback URLs (an image; such a request
	// carries no SameSite=Lax cookie) must not fill their login window.
	if in.Binding == "" {
		i.outcomes.OAuthSignIn(p.ID, identity.ErrStateInvalid.Code)
		return Result{Location: identity.Refused("/", identity.ErrStateInvalid)}, nil
	}
	now := i.now()
	// Counted before anything is checked: a refused callback stays
	// counted, one that signs in gives it back.
	attempt, err := auth.Reserve(ctx, i.store, now, i.cfg.Guard.Window, auth.ErrTooManyAttempts, i.cfg.Guard.ClientLimit(in.ClientIP))
	if err != nil {
		return Result{}, fmt.Errorf("sign-in with %s: %w", p.ID, err)
	}
	c := &callback{Interactor: i, provider: p, in: in, now: now, attempt: attempt, to: "/"}
	res, result, err := c.finish(ctx)
	if r, refused := refusalOf(err); refused {
		i.outcomes.OAuthSignIn(p.ID, r.err.Code)
		if errors.Is(err, identity.ErrProvider) {
			i.cfg.Log.Warn("identity provider failed", "provider", p.ID, "error", err)
		}
		if rerr := i.refused(ctx, now, c.target, r); rerr != nil {
			return Result{}, fmt.Errorf("sign-in with %s: %w", p.ID, rerr)
		}
		return Result{Location: identity.Refused(c.to, r.err)}, nil
	}
	if err != nil {
		i.outcomes.OAuthSignIn(p.ID, "error")
		return Result{}, fmt.Errorf("sign-in with %s: %w", p.ID, attempt.Abandon(ctx, err))
	}
	i.outcomes.OAuthSignIn(p.ID, result)
	return res, nil
}

// refusals are the errors a callback is refused with, and the reason each
// is recorded with in login.failed.
var refusals = []struct {
	err    error
	reason string
}{
	{identity.ErrStateInvalid, audit.ReasonOAuthStateInvalid},
	{identity.ErrIDTokenInvalid, audit.ReasonIDTokenInvalid},
	{identity.ErrProvider, audit.ReasonProviderError},
	{identity.ErrAccountExists, audit.ReasonIdentityConflict},
	{identity.ErrIdentityInUse, audit.ReasonIdentityConflict},
	{identity.ErrSignupDisabled, identity.ErrSignupDisabled.Code},
	{identity.ErrEmailRequired, identity.ErrEmailRequired.Code},
	{auth.ErrAccountInactive, audit.ReasonAccountInactive},
}

// refusal is a refused callback: its error and the reason it is recorded
// with ("": not recorded).
type refusal struct {
	err    *apperr.Error
	reason string
}

// refusalOf is err's refusal, when err is one: one of refusals, or a
// throttle's (too many signups), which is recorded as nothing.
func refusalOf(err error) (refusal, bool) {
	if err == nil {
		return refusal{}, false
	}
	for _, r := range refusals {
		if errors.Is(err, r.err) {
			e, _ := apperr.As(r.err)
			return refusal{err: e, reason: r.reason}, true
		}
	}
	if e, ok := apperr.As(err); ok && e.Kind == apperr.KindTooManyRequests {
		return refusal{err: e}, true
	}
	return refusal{}, false
}

// refused records a refused callback as login.failed (a throttled signup
// records nothing: 429s never do), against target when the refusal is
// about an account.
func (i *Interactor) refused(ctx context.Context, now time.Time, target uuid.UUID, r refusal) error {
	if r.reason == "" {
		return nil
	}
	return i.store.WithinTx(ctx, func(ctx context.Context) error {
		return i.store.RecordEvent(ctx, audit.LoginFailure(ctx, now, target, r.reason))
	})
}

// callback is one callback being finished: what it knows so far.
type callback struct {
	*Interactor
	provider identity.Provider
	in       Input
	now      time.Time
	attempt  auth.Attempt
	to       string    // return_to, once the flow is known
	target   uuid.UUID // the account a refusal is about, if any
}

// finish spends the flow, verifies the provider's answer and does what
// the flow is for. It returns the result's name for the metrics.
func (c *callback) finish(ctx context.Context) (Result, string, error) {
	if c.in.State == "" {
		return Result{}, "", identity.ErrStateInvalid
	}
	f, err := c.store.TakeFlow(ctx, identity.Digest(c.in.State), c.now)
	if err != nil {
		return Result{}, "", err
	}
	c.to = f.ReturnTo
	if f.Provider != c.provider.ID || !f.Binds(c.in.Binding) {
		return Result{}, "", identity.ErrStateInvalid // another provider's flow, or another browser's
	}
	if c.in.Error != "" || c.in.Code == "" {
		return Result{}, "", fmt.Errorf("the provider answered %q: %w", c.in.Error, identity.ErrProvider)
	}
	verifier, err := c.cfg.Flows.Verifier(f)
	if err != nil {
		return Result{}, "", err
	}
	claims, err := c.providers.Exchange(ctx, c.provider.ID, c.in.Code, verifier, f.Nonce)
	if err != nil {
		return Result{}, "", err
	}
	claims = usable(claims)
	if f.Purpose == identity.PurposeLink {
		return c.link(ctx, f, claims)
	}
	return c.signIn(ctx, claims)
}

// usable is c without an address this service could not store (see
// user.CheckEmail): such a claim counts as no address.
func usable(c identity.Claims) identity.Claims {
	if c.Email != "" && user.CheckEmail(c.Email) != nil {
		c.Email, c.EmailVerified = "", false
	}
	return c
}

// signIn does what identity.Decide says of the identity claims names.
func (c *callback) signIn(ctx context.Context, claims identity.Claims) (Result, string, error) {
	s := identity.Situation{Claim: claims.EmailClaim(), Trusted: c.provider.TrustEmail, LinkByEmail: c.provider.LinkByEmail == identity.LinkVerified,
		AllowSignup: c.provider.AllowSignup, EmailRequired: c.cfg.EmailRequired}
	known, err := c.store.IdentityBySubject(ctx, claims.Issuer, claims.Subject)
	switch {
	case err == nil:
		s.Known = true
	case !errors.Is(err, identity.ErrIdentityNotFound):
		return Result{}, "", err
	}
	var local user.User
	if !s.Known && claims.Email != "" {
		local, err = c.store.UserByEmail(ctx, claims.Email)
		switch {
		case err == nil:
			s.Local = identity.LocalVerified
		case !errors.Is(err, user.ErrNotFound):
			return Result{}, "", err
		default:
			claimed, err := c.store.EmailClaimed(ctx, claims.Email)
			if err != nil {
				return Result{}, "", err
			}
			if claimed {
				s.Local = identity.LocalUnverified
			}
		}
	}
	d := identity.Decide(s)
	switch d.Outcome {
	case identity.SignIn:
		u, err := c.store.UserByID(ctx, known.UserID)
		if err != nil {
			return Result{}, "", err
		}
		return c.start(ctx, u, "signed_in", func(ctx context.Context) error {
			return c.store.UseIdentity(ctx, known.ID, claims.Email, c.now)
		})
	case identity.Link:
		c.target = local.ID
		return c.start(ctx, local, "linked", func(ctx context.Context) error {
			return c.linked(ctx, local, claims, "email_match")
		})
	case identity.Create:
		return c.create(ctx, claims, d.VerifyEmail)
	}
	if errors.Is(d.Refusal, identity.ErrAccountExists) {
		c.target = local.ID
	}
	return Result{}, "", d.Refusal
}

// linked links the identity claims names to u, in the transaction in ctx,
// with its event and notice.
func (c *callback) linked(ctx context.Context, u user.User, claims identity.Claims, via string) error {
	id := identity.Identity{ID: uuid.Must(uuid.NewV7()), UserID: u.ID, Provider: c.provider.ID, Issuer: claims.Issuer, Subject: claims.Subject,
		Email: claims.Email, CreatedAt: user.Timestamp(c.now), LastUsedAt: user.Timestamp(c.now)}
	if err := c.store.InsertIdentity(ctx, id); err != nil {
		return err
	}
	e := audit.New(ctx, c.now, audit.IdentityLinked, u.ID, u.ID, map[string]any{"provider": c.provider.ID, "identity": id.ID.String(), "via": via})
	if err := c.store.RecordEvent(ctx, e); err != nil {
		return err
	}
	if m, ok := mail.IdentityLinked(u, c.provider.Name); ok {
		return c.mailer.Queue(ctx, m)
	}
	return nil
}

// start signs u in, in one transaction with what also must happen
// (recording the identity's use, linking it): a session made with the
// provider, or, when u has a second factor, a pending login that loginmfa
// finishes. An inactive account is refused.
func (c *callback) start(ctx context.Context, u user.User, result string, also func(ctx context.Context) error) (Result, string, error) {
	c.target = u.ID
	if !u.IsActive {
		return Result{}, "", auth.ErrAccountInactive
	}
	factors, err := c.store.Factors(ctx, u.ID)
	if err != nil {
		return Result{}, "", err
	}
	var res Result
	err = c.store.WithinTx(ctx, func(ctx context.Context) error {
		if err := also(ctx); err != nil {
			return err
		}
		if err := c.attempt.Succeeded(ctx); err != nil {
			return err
		}
		if factors.Any() {
			res, err = c.pending(ctx, u)
			return err
		}
		s, secret, err := c.cfg.SignIn.Start(ctx, c.store, c.now, signin.Login{User: u, PasswordHash: u.PasswordHash,
			Methods: []string{mfa.MethodOIDC}, UserAgent: c.in.UserAgent, IP: c.in.ClientIP, Details: map[string]any{"provider": c.provider.ID}})
		res = Result{Location: c.to, Session: &s, Secret: secret}
		return err
	})
	if errors.Is(err, signin.ErrAccountChanged) {
		// Inactivated, or given a password, since it was read: the
		// sign-in starts over.
		return Result{}, "", identity.ErrStateInvalid
	}
	if err != nil {
		return Result{}, "", err
	}
	if res.Pending != nil {
		result = auth.ErrMFARequired.Code
	}
	return res, result, nil
}

// pending stores a pending login of u made with the provider, in the
// transaction in ctx: its second step makes the session.
func (c *callback) pending(ctx context.Context, u user.User) (Result, error) {
	secret, id := session.NewPendingSecret()
	p := session.Pending{ID: id, UserID: u.ID, VerifiedHash: u.PasswordHash, Method: mfa.MethodOIDC, CreatedAt: user.Timestamp(c.now),
		ExpiresAt: user.Timestamp(c.now.Add(c.cfg.PendingTTL)), UserAgent: session.CleanUserAgent(c.in.UserAgent), IP: c.in.ClientIP}
	if err := c.store.InsertPendingLogin(ctx, p); err != nil {
		return Result{}, err
	}
	return Result{Location: identity.MFARequired(c.to), Pending: &p, Secret: secret}, nil
}

// usernameTries is how many usernames a new account tries.
const usernameTries = 8

// create makes an account for the identity claims names: a username from
// the claims made unique, no password (recovery sets one), the claimed
// address verified when verify says so (clearing other accounts' unverified
// claims of it), else sent a verification message; and signs it in. The
// client's signup window counts it, as at signup.
func (c *callback) create(ctx context.Context, claims identity.Claims, verify bool) (Result, string, error) {
	if c.cfg.SignupsPerIP > 0 {
		if _, err := auth.Reserve(ctx, c.store, c.now, c.cfg.SignupWindow, auth.ErrTooManySignups, auth.SignupLimit(c.in.ClientIP, c.cfg.SignupsPerIP)); err != nil {
			return Result{}, "", err
		}
	}
	u := user.New("", user.NoPassword, user.RoleUser, c.now)
	u.Email = claims.Email
	var message onetime.Verification
	if u.Email != "" && !verify {
		var err error
		if message, err = c.cfg.Verifications.Reserve(ctx, c.store, c.now, u.ID, u.Email); err != nil {
			return Result{}, "", err
		}
	}
	for _, name := range identity.Usernames(claims, usernameTries) {
		if _, err := c.store.UserByUsername(ctx, name); !errors.Is(err, user.ErrNotFound) {
			if err != nil {
				return Result{}, "", message.Abandon(ctx, err)
			}
			continue // taken
		}
		u.Username = name
		res, result, err := c.start(ctx, u, "signed_up", func(ctx context.Context) error {
			return c.created(ctx, u, claims, verify, message)
		})
		if errors.Is(err, user.ErrUsernameTaken) {
			continue // taken meanwhile
		}
		if errors.Is(err, user.ErrEmailTaken) {
			err = identity.ErrAccountExists // verified by another account meanwhile
		}
		if err != nil {
			return Result{}, "", message.Abandon(ctx, err)
		}
		return res, result, nil
	}
	return Result{}, "", message.Abandon(ctx, fmt.Errorf("no free username for %q: %w", claims.Name, user.ErrUsernameTaken))
}

// created stores the new account u of the identity claims names, in the
// transaction in ctx, with its identity, its address's verification (or
// message) and its event.
func (c *callback) created(ctx context.Context, u user.User, claims identity.Claims, verify bool, message onetime.Verification) error {
	if err := c.store.InsertUser(ctx, u); err != nil {
		return err
	}
	if verify {
		if err := onetime.Verified(ctx, c.store, u.ID, u.Email, c.now); err != nil {
			return cmp.Or(mapVerified(err), err)
		}
	} else if err := message.Send(ctx, c.store, c.mailer, u, c.now); err != nil {
		return err
	}
	id := identity.Identity{ID: uuid.Must(uuid.NewV7()), UserID: u.ID, Provider: c.provider.ID, Issuer: claims.Issuer, Subject: claims.Subject,
		Email: claims.Email, CreatedAt: user.Timestamp(c.now), LastUsedAt: user.Timestamp(c.now)}
	if err := c.store.InsertIdentity(ctx, id); err != nil {
		return err
	}
	return c.store.RecordEvent(ctx, audit.New(ctx, c.now, audit.UserSignedUp, uuid.Nil, u.ID, map[string]any{"via": "oauth", "provider": c.provider.ID}))
}

// mapVerified: an address another account verified meanwhile.
func mapVerified(err error) error {
	if errors.Is(err, onetime.ErrInvalid) {
		return identity.ErrAccountExists
	}
	return nil
}

// link finishes a flow a signed-in user began: the identity joins their
// account, unless it is another account's (identity_in_use); one already
// theirs is a success that changes nothing. Only while the session that
// began it exists, checked under the user's row lock (as a change after
// the current password is, see auth's Change): a password change, a
// logout, a reset of the factors or an inactivation since the start ended
// it, and the flow is refused (oauth_state_invalid), so that a password
// someone else knew a moment ago links nothing.
func (c *callback) link(ctx context.Context, f identity.Flow, claims identity.Claims) (Result, string, error) {
	c.target = f.UserID
	u, err := c.store.UserByID(ctx, f.UserID)
	if errors.Is(err, user.ErrNotFound) {
		return Result{}, "", identity.ErrStateInvalid // deleted since
	}
	if err != nil {
		return Result{}, "", err
	}
	if !u.IsActive {
		return Result{}, "", auth.ErrAccountInactive
	}
	known, err := c.store.IdentityBySubject(ctx, claims.Issuer, claims.Subject)
	switch {
	case err == nil && known.UserID != u.ID:
		return Result{}, "", identity.ErrIdentityInUse
	case err == nil:
		return Result{Location: c.to}, "already_linked", c.store.WithinTx(ctx, c.attempt.Succeeded)
	case !errors.Is(err, identity.ErrIdentityNotFound):
		return Result{}, "", err
	}
	err = c.store.WithinTx(ctx, func(ctx context.Context) error {
		if _, err := c.store.UserByIDForUpdate(ctx, u.ID); err != nil {
			return err
		}
		if alive, err := c.store.SessionExists(ctx, f.SessionID); err != nil || !alive {
			return cmp.Or[error](err, identity.ErrStateInvalid)
		}
		if err := c.linked(ctx, u, claims, "signed_in"); err != nil {
			return err
		}
		return c.attempt.Succeeded(ctx)
	})
	if err != nil {
		return Result{}, "", err
	}
	return Result{Location: c.to}, "identity_linked", nil
}

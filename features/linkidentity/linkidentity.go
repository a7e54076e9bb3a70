// Package linkidentity begins linking an identity provider's account to
// the signed-in user's: after their current password (a user without one:
// a session signed in within 10 minutes), under the assurance rule of
// credential changes, it stores a flow for them and binds it to their
// browser; the provider's callback (oauthcallback) finishes it there.
package linkidentity

import (
	"context"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/identity"
)

// Interactor begins links.
type Interactor struct {
	store     Store
	providers Providers
	hasher    auth.Verifier
	cfg       Config
	now       func() time.Time
}

// Config is the links' policy: the flows' rules, the password checks'
// throttle, and the starts a client may make.
type Config struct {
	Flows      identity.Flows
	Guard      auth.Guard
	Ceremonies auth.CeremonyLimit
}

// New returns the interactor.
func New(store Store, providers Providers, hasher auth.Verifier, cfg Config, now func() time.Time) *Interactor {
	return &Interactor{store: store, providers: providers, hasher: hasher, cfg: cfg, now: now}
}

// Input is the provider, the caller's current password, where the browser
// is to come back to, and the client.
type Input struct {
	Provider        string
	CurrentPassword string
	ReturnTo        string
	ClientIP        string
}

// Result is where to send the browser and the binding cookie's secret.
type Result struct {
	URL     string
	Binding string
}

// Action is this check's details.action in reauthentication.failed.
const Action = "link_identity"

// Execute stores a flow that links the caller's account: 404 for an
// unknown provider and 422 for a bad return_to (before the password, so
// they cost no try), 403 wrong_password, reauthentication_required,
// aal2_required, 429, and 503 provider_error when the provider cannot be
// reached.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) (Result, error) {
	if !actor.Authenticated() {
		return Result{}, auth.ErrNotAuthenticated
	}
	p, ok := i.providers.Provider(in.Provider)
	if !ok {
		return Result{}, identity.ErrProviderNotFound
	}
	to, err := identity.CheckReturnTo(in.ReturnTo, i.cfg.Flows.TrustedOrigins)
	if err != nil {
		return Result{}, err
	}
	u, now := actor.User, i.now()
	if err := i.cfg.Ceremonies.Reserve(ctx, i.store, now, in.ClientIP); err != nil {
		return Result{}, fmt.Errorf("link %s to %s: %w", p.ID, u.Username, err)
	}
	r, err := i.cfg.Guard.Confirm(ctx, i.store, i.hasher, now, actor, in.CurrentPassword, in.ClientIP, Action)
	if err != nil {
		return Result{}, fmt.Errorf("link %s to %s: %w", p.ID, u.Username, err)
	}
	// The provider's URL before the transaction: it may need the network.
	s, err := i.cfg.Flows.Begin(ctx, i.providers, p.ID, identity.PurposeLink, u.ID, to, now)
	if err != nil {
		return Result{}, fmt.Errorf("link %s to %s: %w", p.ID, u.Username, r.Abandon(ctx, err))
	}
	// The link finishes only while this session lasts: a password change,
	// a logout, a reset or an inactivation since then voids it.
	s.Flow.SessionID = actor.SessionID
	if err := r.Change(ctx, func(ctx context.Context) error { return i.store.InsertFlow(ctx, s.Flow) }); err != nil {
		return Result{}, fmt.Errorf("link %s to %s: %w", p.ID, u.Username, err)
	}
	return Result{URL: s.URL, Binding: s.Binding}, nil
}

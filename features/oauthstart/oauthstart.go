// Package oauthstart begins a sign-in with an identity provider: it
// checks where the browser is to come back to, stores the flow (state,
// nonce, the PKCE verifier sealed; 10 minutes, once, on any replica),
// binds it to the browser with a cookie and sends the browser to the
// provider. Each start stores a row, so starts count per client like
// WebAuthn ceremonies.
package oauthstart

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/identity"
)

// Interactor starts sign-ins.
type Interactor struct {
	store     Store
	providers Providers
	outcomes  Outcomes
	cfg       Config
	now       func() time.Time
}

// Config is the starts' policy: the flows' rules, the starts a client may
// make, and where a provider's failure is logged.
type Config struct {
	Flows      identity.Flows
	Ceremonies auth.CeremonyLimit
	Log        *slog.Logger
}

// New returns the interactor.
func New(store Store, providers Providers, outcomes Outcomes, cfg Config, now func() time.Time) *Interactor {
	return &Interactor{store: store, providers: providers, outcomes: outcomes, cfg: cfg, now: now}
}

// Input is the provider, where the browser is to come back to, and the
// client.
type Input struct {
	Provider string
	ReturnTo string
	ClientIP string
}

// Result is where to send the browser, and the binding cookie's secret of
// the flow begun ("" when none was: a provider that cannot be reached
// sends the browser back with #error=provider_error).
type Result struct {
	Location string
	Binding  string
}

// Execute begins a sign-in with in.Provider: 403 already_authenticated
// for a signed-in caller, 404 for an unknown provider, 422 for a
// return_to that is neither a path here nor on a trusted origin, 429 past
// the client's starts.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) (Result, error) {
	if actor.Authenticated() {
		return Result{}, auth.ErrAlreadyAuthenticated
	}
	p, ok := i.providers.Provider(in.Provider)
	if !ok {
		return Result{}, identity.ErrProviderNotFound
	}
	to, err := identity.CheckReturnTo(in.ReturnTo, i.cfg.Flows.TrustedOrigins)
	if err != nil {
		return Result{}, err
	}
	now := i.now()
	if err := i.cfg.Ceremonies.Reserve(ctx, i.store, now, in.ClientIP); err != nil {
		return Result{}, fmt.Errorf("start sign-in with %s: %w", p.ID, err)
	}
	s, err := i.cfg.Flows.Begin(ctx, i.providers, p.ID, identity.PurposeSignIn, uuid.Nil, to, now)
	if errors.Is(err, identity.ErrProvider) {
		i.cfg.Log.Warn("identity provider unavailable", "provider", p.ID, "error", err)
		i.outcomes.OAuthSignIn(p.ID, identity.ErrProvider.Code)
		return Result{Location: identity.Refused(to, err)}, nil
	}
	if err != nil {
		return Result{}, fmt.Errorf("start sign-in with %s: %w", p.ID, err)
	}
	if err := i.store.InsertFlow(ctx, s.Flow); err != nil {
		return Result{}, fmt.Errorf("start sign-in with %s: %w", p.ID, err)
	}
	return Result{Location: s.URL, Binding: s.Binding}, nil
}

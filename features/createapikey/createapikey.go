// Package createapikey gives a signed-in user a new API key for a script
// or a server, after their current password (and from a session made with
// their second factor, when they have one). The key acts as the user; it
// is shown once, and only a keyed hash of its secret is kept. Only a
// session creates keys, and only for its own user: no key, and nothing in
// the request, can name another.
package createapikey

import (
	"context"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mail"
)

// Interactor creates keys.
type Interactor struct {
	store  Store
	hasher Hasher
	keys   Keys
	mailer Mailer
	cfg    Config
	now    func() time.Time
}

// Config is the policy of new keys.
type Config struct {
	Guard  auth.Guard    // throttles the current-password check
	MaxTTL time.Duration // the longest lifetime (api_keys.max_ttl)
}

// New returns the interactor.
func New(store Store, hasher Hasher, keys Keys, mailer Mailer, cfg Config, now func() time.Time) *Interactor {
	return &Interactor{store: store, hasher: hasher, keys: keys, mailer: mailer, cfg: cfg, now: now}
}

// Input is the new key's name, scope and lifetime in seconds (nil: not
// given), and the caller's current password and address.
type Input struct {
	Name            string
	Scope           string
	ExpiresIn       *int64
	CurrentPassword string
	ClientIP        string
}

// Created is a new key as stored, and the key itself, shown once.
type Created struct {
	Key    apikey.Key
	Secret string
}

// Action is this check's details.action in reauthentication.failed.
const Action = "create_api_key"

// Execute checks the input and the password, then stores a key of the
// caller's, unless they hold apikey.MaxPerUser live ones (409
// api_key_limit), with api_key.created and a notice to their verified
// address.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) (Created, error) {
	if err := auth.RequireSession(actor); err != nil {
		return Created{}, err
	}
	lifetime, err := i.check(in)
	if err != nil {
		return Created{}, err
	}
	u, now := actor.User, i.now()
	r, err := i.cfg.Guard.Reauthenticate(ctx, i.store, i.hasher, now, actor, in.CurrentPassword, in.ClientIP, Action)
	if err != nil {
		return Created{}, fmt.Errorf("create api key: %w", err)
	}
	var out Created
	err = r.Change(ctx, func(ctx context.Context) error {
		// Under the user's row lock: two creations at once count each other.
		n, err := i.store.LiveAPIKeys(ctx, u.ID, now)
		if err != nil {
			return err
		}
		if n >= apikey.MaxPerUser {
			return apikey.ErrLimit
		}
		k, secret := apikey.Issue(i.keys.HashAPIKey, u.ID, in.Name, apikey.Scope(in.Scope), now, lifetime)
		stored, err := i.store.InsertAPIKey(ctx, k)
		if err != nil {
			return err
		}
		if !stored {
			return auth.ErrNotAuthenticated // inactivated meanwhile
		}
		e := audit.New(ctx, now, audit.APIKeyCreated, u.ID, u.ID, map[string]any{
			"key": k.ID.String(), "name": k.Name, "scope": string(k.Scope), "expires_at": audit.FormatTime(k.ExpiresAt),
		})
		if err := i.store.RecordEvent(ctx, e); err != nil {
			return err
		}
		if notice, ok := mail.APIKeyCreated(u, k.Name, k.Prefix(), string(k.Scope), k.ExpiresAt); ok {
			if err := i.mailer.Queue(ctx, notice); err != nil {
				return err
			}
		}
		out = Created{Key: k, Secret: secret}
		return nil
	})
	if err != nil {
		return Created{}, fmt.Errorf("create api key for %s: %w", u.Username, err)
	}
	return out, nil
}

// check returns the lifetime the input asks for, or every field it gets
// wrong (422).
func (i *Interactor) check(in Input) (time.Duration, error) {
	var fields []apperr.FieldError
	if err := apikey.CheckName(in.Name); err != nil {
		fields = append(fields, apperr.FieldError{Field: "name", Message: err.Error()})
	}
	if !apikey.Scope(in.Scope).Valid() {
		fields = append(fields, apperr.FieldError{Field: "scope", Message: "scope must be read or full"})
	}
	var lifetime time.Duration
	minimum, maximum := int64(apikey.MinLifetime/time.Second), int64(i.cfg.MaxTTL/time.Second)
	switch {
	case in.ExpiresIn == nil:
		fields = append(fields, apperr.FieldError{Field: "expires_in", Message: "expires_in is required: the key's lifetime in seconds"})
	case *in.ExpiresIn < minimum || *in.ExpiresIn > maximum:
		fields = append(fields, apperr.FieldError{Field: "expires_in", Message: fmt.Sprintf("expires_in must be %d to %d seconds", minimum, maximum)})
	default:
		lifetime = time.Duration(*in.ExpiresIn) * time.Second
	}
	if in.CurrentPassword == "" {
		fields = append(fields, apperr.FieldError{Field: "current_password", Message: "current_password is required"})
	}
	if len(fields) > 0 {
		return 0, apperr.Invalid(fields...)
	}
	return lifetime, nil
}

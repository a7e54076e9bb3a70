// Package updatewebhook lets a super admin change a webhook endpoint: its
// URL (after their current password: a new URL is where every event will
// go), the event types it receives, its description, and whether it is
// enabled (enabling one that the delivery loop disabled starts its
// failure clock over).
package updatewebhook

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
	"github.com/cleanslice/cleanslice/shared/webhook"
)

// Interactor changes endpoints.
type Interactor struct {
	store   Store
	hasher  Hasher
	guard   auth.Guard
	targets webhook.Targets
	now     func() time.Time
}

// New returns the interactor; guard throttles the current-password check,
// targets says which URLs are allowed.
func New(store Store, hasher Hasher, guard auth.Guard, targets webhook.Targets, now func() time.Time) *Interactor {
	return &Interactor{store: store, hasher: hasher, guard: guard, targets: targets, now: now}
}

// Input is the endpoint's id and the fields to change (nil: unchanged),
// with the caller's current password (needed for a new URL) and address.
type Input struct {
	ID              string
	URL             *string
	Events          *[]string
	Description     *string
	Enabled         *bool
	CurrentPassword string
	ClientIP        string
}

// Action is this check's details.action in reauthentication.failed.
const Action = "webhook_update"

// errPasswordForURL is a new URL without the current password.
var errPasswordForURL = apperr.Invalid(apperr.FieldError{Field: "current_password", Message: "current_password is required to change the url"})

// Execute checks the input (every bad field at once), finds the endpoint
// (404 before any password check) and makes the change, after the current
// password when the URL changes. A request that changes nothing records
// nothing.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) (webhook.Endpoint, error) {
	if err := auth.Require(actor, user.RoleSuperAdmin); err != nil {
		return webhook.Endpoint{}, err
	}
	id, err := webhook.ParseID(in.ID)
	if err != nil {
		return webhook.Endpoint{}, err
	}
	current, err := i.store.WebhookEndpoint(ctx, id)
	if err != nil {
		return webhook.Endpoint{}, fmt.Errorf("update webhook: %w", err)
	}
	newURL := in.URL != nil && *in.URL != current.URL
	events, err := check(i.targets, in, newURL)
	if err != nil {
		return webhook.Endpoint{}, err
	}
	now := user.Timestamp(i.now())
	var out webhook.Endpoint
	apply := func(ctx context.Context) error {
		e, err := i.store.WebhookEndpointForUpdate(ctx, id)
		if err != nil {
			return err
		}
		var changed []string
		if in.URL != nil && *in.URL != e.URL {
			if !newURL { // changed by someone else since it was read
				return errPasswordForURL
			}
			e.URL, changed = *in.URL, append(changed, "url")
		}
		if events != nil && !slices.Equal(events, e.Events) {
			e.Events, changed = events, append(changed, "events")
		}
		if in.Description != nil && *in.Description != e.Description {
			e.Description, changed = *in.Description, append(changed, "description")
		}
		if in.Enabled != nil && *in.Enabled != e.Enabled {
			e.Enabled, changed = *in.Enabled, append(changed, "enabled")
		}
		out = e
		if len(changed) == 0 {
			return nil
		}
		out.UpdatedAt = now
		if err := i.store.UpdateWebhookEndpoint(ctx, out); err != nil {
			return err
		}
		return i.store.RecordEvent(ctx, audit.New(ctx, now, audit.WebhookUpdated, actor.User.ID, uuid.Nil,
			map[string]any{"webhook": id.String(), "changed": changed}))
	}
	if newURL {
		var r auth.Reauthentication
		if r, err = i.guard.Reauthenticate(ctx, i.store, i.hasher, now, actor, in.CurrentPassword, in.ClientIP, Action); err == nil {
			err = r.Change(ctx, apply)
		}
	} else {
		err = i.store.WithinTx(ctx, apply)
	}
	if err != nil {
		return webhook.Endpoint{}, fmt.Errorf("update webhook %s: %w", id, err)
	}
	return out, nil
}

// check returns the new subscription (nil: unchanged), or every field
// that breaks a rule. The URL is checked when it changes.
func check(targets webhook.Targets, in Input, newURL bool) ([]string, error) {
	var fields []apperr.FieldError
	add := func(err error) {
		if e, ok := apperr.As(err); ok {
			fields = append(fields, e.Fields...)
		}
	}
	if newURL {
		add(targets.CheckURL(*in.URL))
		if in.CurrentPassword == "" {
			add(errPasswordForURL)
		}
	}
	var events []string
	if in.Events != nil {
		var err error
		events, err = webhook.ParseEvents(*in.Events)
		add(err)
	}
	if in.Description != nil {
		add(webhook.CheckDescription(*in.Description))
	}
	if len(fields) > 0 {
		return nil, apperr.Invalid(fields...)
	}
	return events, nil
}

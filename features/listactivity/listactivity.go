// Package listactivity shows a logged-in user the security events of their
// own account (logins, failed attempts, password and session changes),
// newest first: the "recent security activity" page. Who acted is left
// out: a user learns that an admin reset their password, not which one,
// nor from where (the client of an event is shown only when the caller
// caused it).
package listactivity

import (
	"context"
	"fmt"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
)

// Interactor lists the caller's events.
type Interactor struct{ store Store }

// New returns the interactor.
func New(store Store) *Interactor { return &Interactor{store: store} }

// Known lists the query parameters of the activity page.
var Known = []string{"type", "since", "until", "limit", "cursor"}

// Result is one page of events.
type Result struct {
	Events []audit.Event
	// NextCursor continues after this page; empty on the last page.
	NextCursor string
}

// Execute returns a page of the events whose target is the caller.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in audit.Params) (Result, error) {
	if !actor.Authenticated() {
		return Result{}, auth.ErrNotAuthenticated
	}
	in.Known = Known
	q, err := audit.ParseParams(in)
	if err != nil {
		return Result{}, err
	}
	if q.Actor != "" || q.Target != "" {
		// A cursor of the whole trail's filters: not one of these pages.
		return Result{}, apperr.Invalid(apperr.FieldError{Field: "cursor", Message: "this cursor belongs to another list; use next_cursor of this one"})
	}
	q.TargetID = actor.User.ID
	fetch := q
	fetch.Limit++ // one more says whether another page follows
	events, err := i.store.AuditEvents(ctx, fetch)
	if err != nil {
		return Result{}, fmt.Errorf("list activity: %w", err)
	}
	var res Result
	res.Events, res.NextCursor = q.Cut(events)
	for k, e := range res.Events {
		if e.Actor.ID != actor.User.ID {
			// An admin's, or an anonymous party's: their address, browser
			// and request are theirs.
			res.Events[k].IP, res.Events[k].UserAgent, res.Events[k].RequestID = "", "", ""
		}
	}
	return res, nil
}

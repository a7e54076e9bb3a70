// Package listauditevents lets super admins page through the audit trail,
// newest first, filtered by type, actor, target and time.
package listauditevents

import (
	"context"
	"fmt"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Interactor lists audit events.
type Interactor struct{ store Store }

// New returns the interactor.
func New(store Store) *Interactor { return &Interactor{store: store} }

// Known lists the query parameters of the trail.
var Known = []string{"type", "actor", "target", "since", "until", "limit", "cursor"}

// Result is one page of events.
type Result struct {
	Events []audit.Event
	// NextCursor continues after this page; empty on the last page.
	NextCursor string
}

// Execute checks the query, listing every bad parameter at once, and returns
// the page. Only super admins read the whole trail.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in audit.Params) (Result, error) {
	if err := auth.Require(actor, user.RoleSuperAdmin); err != nil {
		return Result{}, err
	}
	in.Known = Known
	q, err := audit.ParseParams(in)
	if err != nil {
		return Result{}, err
	}
	fetch := q
	fetch.Limit++ // one more says whether another page follows
	events, err := i.store.AuditEvents(ctx, fetch)
	if err != nil {
		return Result{}, fmt.Errorf("list audit events: %w", err)
	}
	var res Result
	res.Events, res.NextCursor = q.Cut(events)
	return res, nil
}

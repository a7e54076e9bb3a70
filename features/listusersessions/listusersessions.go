// Package listusersessions lets admins see where a user ranked below them
// is logged in.
package listusersessions

import (
	"context"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
)

// Interactor lists a user's sessions.
type Interactor struct {
	store Store
	now   func() time.Time
}

// New returns the interactor.
func New(store Store, now func() time.Time) *Interactor { return &Interactor{store: store, now: now} }

// Input is the query as the client wrote it.
type Input struct {
	Username string
	// Unknown names query parameters that mean nothing here.
	Unknown []string
}

// Execute returns the target's live sessions, the most recently seen
// first. The checks run as in every admin scenario: 403 for a caller below
// admin, 422 for bad input, 404 for an unknown user, 403 for a target not
// below the caller.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) ([]session.Session, error) {
	u, err := auth.Target(ctx, i.store, actor, in.Username, in.Unknown)
	if err != nil {
		return nil, fmt.Errorf("list sessions of %s: %w", in.Username, err)
	}
	ss, err := i.store.UserSessions(ctx, u.ID, i.now())
	if err != nil {
		return nil, fmt.Errorf("list sessions of %s: %w", in.Username, err)
	}
	return ss, nil
}

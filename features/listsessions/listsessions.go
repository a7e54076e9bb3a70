// Package listsessions shows users where they are logged in: their live
// sessions, the one making the request marked.
package listsessions

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
)

// Interactor lists the caller's sessions.
type Interactor struct {
	store Store
	now   func() time.Time
}

// New returns the interactor.
func New(store Store, now func() time.Time) *Interactor { return &Interactor{store: store, now: now} }

// Item is one session and whether it is the caller's current one.
type Item struct {
	Session session.Session
	Current bool
}

// Execute returns the actor's live sessions, the most recently seen first.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor) ([]Item, error) {
	if !actor.Authenticated() {
		return nil, auth.ErrNotAuthenticated
	}
	ss, err := i.store.UserSessions(ctx, actor.User.ID, i.now())
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	items := make([]Item, len(ss))
	for n, s := range ss {
		items[n] = Item{Session: s, Current: bytes.Equal(s.ID, actor.SessionID)}
	}
	return items, nil
}

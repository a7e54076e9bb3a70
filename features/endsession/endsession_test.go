package endsession

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit/audittest"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// fakeStore holds sessions by public id, with their owner.
type fakeStore struct {
	owner map[uuid.UUID]uuid.UUID
	id    map[uuid.UUID][]byte
	audittest.Trail
}

func (f *fakeStore) DeleteUserSession(_ context.Context, userID, publicID uuid.UUID) ([]byte, error) {
	if f.owner[publicID] != userID {
		return nil, session.ErrNotFound
	}
	delete(f.owner, publicID)
	return f.id[publicID], nil
}

func TestEndSession(t *testing.T) {
	alice, bob := user.User{ID: user.NewID()}, user.User{ID: user.NewID()}
	current, other, bobs := user.NewID(), user.NewID(), user.NewID()
	f := &fakeStore{
		owner: map[uuid.UUID]uuid.UUID{current: alice.ID, other: alice.ID, bobs: bob.ID},
		id:    map[uuid.UUID][]byte{current: {1}, other: {2}, bobs: {3}},
	}
	i := New(f, time.Now)
	actor := auth.Actor{User: alice, SessionID: []byte{1}}
	ctx := context.Background()
	if _, err := i.Execute(ctx, auth.Actor{}, Input{ID: other.String()}); !errors.Is(err, auth.ErrNotAuthenticated) {
		t.Fatalf("anonymous: %v", err)
	}
	for name, id := range map[string]string{"malformed": "x", "nil": uuid.Nil.String(), "unknown": user.NewID().String(), "another user's": bobs.String()} {
		if _, err := i.Execute(ctx, actor, Input{ID: id}); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("%s id: %v, want session_not_found", name, err)
		}
	}
	if cur, err := i.Execute(ctx, actor, Input{ID: other.String()}); err != nil || cur {
		t.Fatalf("other session: current %v, %v", cur, err)
	}
	if cur, err := i.Execute(ctx, actor, Input{ID: current.String()}); err != nil || !cur {
		t.Fatalf("current session: current %v, %v", cur, err)
	}
	if _, ok := f.owner[bobs]; !ok || f.Ended(session.EndedBySelf) != 2 || len(f.Events) != 2 {
		t.Fatalf("bob's session touched, or events %+v (want two of one session each; none for the refusals)", f.Events)
	}
}

package revokeapikey

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/audit/audittest"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/user"
)

type fakeStore struct {
	audittest.Trail
	keys    map[uuid.UUID]uuid.UUID // key id -> user id
	factors map[uuid.UUID]mfa.Factors
}

func (f *fakeStore) Factors(_ context.Context, userID uuid.UUID) (mfa.Factors, error) {
	return f.factors[userID], nil
}

func (f *fakeStore) DeleteUserAPIKey(_ context.Context, userID, id uuid.UUID) error {
	if f.keys[id] != userID {
		return apikey.ErrNotFound
	}
	delete(f.keys, id)
	return nil
}

func TestRevoke(t *testing.T) {
	alice, bob := user.User{ID: user.NewID(), Username: "alice"}, user.User{ID: user.NewID(), Username: "bobby"}
	mine, theirs := uuid.Must(uuid.NewV4()), uuid.Must(uuid.NewV4())
	carol := user.User{ID: user.NewID(), Username: "carol"}
	hers := uuid.Must(uuid.NewV4())
	f := &fakeStore{keys: map[uuid.UUID]uuid.UUID{mine: alice.ID, theirs: bob.ID, hers: carol.ID},
		factors: map[uuid.UUID]mfa.Factors{carol.ID: {TOTPEnabledAt: time.Unix(1, 0)}}}
	i := New(f, time.Now)
	session := auth.Actor{User: alice, SessionID: []byte{1}}
	// carol has a second factor: a session made with her password alone
	// manages no credential, keys included.
	passwordOnly := auth.Actor{User: carol, SessionID: []byte{2}, Methods: []string{"password"}}
	for name, c := range map[string]struct {
		actor auth.Actor
		id    string
		want  error
	}{
		"anonymous":                  {auth.Actor{}, mine.String(), auth.ErrNotAuthenticated},
		"an API key":                 {auth.Actor{User: alice, APIKey: mine}, mine.String(), auth.ErrSessionRequired},
		"another's key":              {session, theirs.String(), apikey.ErrNotFound},
		"an unknown key":             {session, uuid.Must(uuid.NewV4()).String(), apikey.ErrNotFound},
		"a malformed id":             {session, "cs_abc", apikey.ErrNotFound},
		"an empty id":                {session, "", apikey.ErrNotFound},
		"a key's own text":           {session, "cs_" + mine.String(), apikey.ErrNotFound},
		"aal 1 with a second factor": {passwordOnly, hers.String(), auth.ErrAAL2Required},
	} {
		if err := i.Execute(context.Background(), c.actor, c.id); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if len(f.keys) != 3 || len(f.Events) != 0 {
		t.Fatal("a refused request revoked a key or recorded an event")
	}
	if err := i.Execute(context.Background(), session, mine.String()); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.keys[mine]; ok || len(f.keys) != 2 {
		t.Fatal("the key is still there")
	}
	e := f.Events[0]
	if len(f.Events) != 1 || e.Type != audit.APIKeyRevoked || e.Actor.ID != alice.ID || e.Target.ID != alice.ID ||
		e.Details["reason"] != "owner" || e.Details["key"] != mine.String() || e.Details["revoked"] != 1 {
		t.Fatalf("events %+v", f.Events)
	}
	if err := i.Execute(context.Background(), session, mine.String()); !errors.Is(err, apikey.ErrNotFound) {
		t.Fatalf("revoked twice: %v", err)
	}
}

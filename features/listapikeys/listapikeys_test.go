package listapikeys

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/apikeyjson"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
)

type fakeStore struct {
	keys  map[uuid.UUID][]apikey.Key
	reads int
}

func (f *fakeStore) UserAPIKeys(_ context.Context, userID uuid.UUID, _ time.Time) ([]apikey.Key, error) {
	f.reads++
	return f.keys[userID], nil
}

func TestList(t *testing.T) {
	alice := user.User{ID: user.NewID(), Username: "alice"}
	used := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	k := apikey.Key{ID: uuid.Must(uuid.NewV4()), UserID: alice.ID, Name: "ci", Scope: apikey.ScopeRead, LastUsedAt: used, LastUsedIP: "192.0.2.1"}
	f := &fakeStore{keys: map[uuid.UUID][]apikey.Key{alice.ID: {k, {ID: uuid.Must(uuid.NewV4()), UserID: alice.ID}}}}
	i := New(f, time.Now)
	for _, a := range []auth.Actor{{}, {User: alice, APIKey: k.ID}} {
		if _, err := i.Execute(context.Background(), a); err == nil {
			t.Fatalf("%+v listed keys", a)
		}
	}
	if f.reads != 0 {
		t.Fatal("a refused caller read the keys")
	}
	keys, err := i.Execute(context.Background(), auth.Actor{User: alice, SessionID: []byte{1}})
	if err != nil || len(keys) != 2 {
		t.Fatalf("Execute = %v, %v", keys, err)
	}
	l := apikeyjson.ListOf(keys)
	if got := l.APIKeys[0]; got.Prefix != k.Prefix() || got.LastUsedAt == nil || !got.LastUsedAt.Equal(used) || *got.LastUsedIP != "192.0.2.1" {
		t.Fatalf("listed %+v", got)
	}
	if got := l.APIKeys[1]; got.LastUsedAt != nil || got.LastUsedIP != nil {
		t.Fatalf("a key never used: %+v", got)
	}
	if _, err := i.Execute(context.Background(), auth.Actor{User: alice, APIKey: k.ID}); !errors.Is(err, auth.ErrSessionRequired) {
		t.Fatalf("a key: %v", err)
	}
}

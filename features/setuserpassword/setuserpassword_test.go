package setuserpassword

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey/apikeytest"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/audit/audittest"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/auth/authtest"
	"github.com/cleanslice/cleanslice/shared/onetime/onetimetest"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

type fakeStore struct {
	users map[string]user.User
	calls []string
	audittest.Trail
	apikeytest.Keys
}

func (f *fakeStore) WithinTx(ctx context.Context, fn func(ctx context.Context) error) error {
	f.calls = append(f.calls, "begin")
	err := f.Trail.WithinTx(ctx, fn)
	f.calls = append(f.calls, "end")
	return err
}

func (f *fakeStore) UserByUsernameForUpdate(_ context.Context, name string) (user.User, error) {
	u, ok := f.users[name]
	if !ok {
		return user.User{}, user.ErrNotFound
	}
	return u, nil
}

func (f *fakeStore) UpdatePasswordHash(_ context.Context, _ uuid.UUID, hash string, _ time.Time) error {
	f.calls = append(f.calls, "update "+hash)
	return nil
}

func (f *fakeStore) VoidRecoveryTokens(context.Context, uuid.UUID, time.Time) error { return nil }

func (f *fakeStore) DeleteUserSessions(context.Context, uuid.UUID) (int, error) {
	f.calls = append(f.calls, "delete sessions")
	return 1, nil
}

func TestSetUserPassword(t *testing.T) {
	admin := auth.Actor{User: user.User{ID: user.NewID(), Role: user.RoleAdmin}, SessionID: []byte{1}}
	f := &fakeStore{users: map[string]user.User{
		"target": {ID: user.NewID(), Username: "target", Role: user.RoleUser},
		"peer.x": {ID: user.NewID(), Username: "peer.x", Role: user.RoleAdmin},
	}}
	h := &authtest.Hasher{}
	i := New(f, h, &onetimetest.Outbox{}, 8, time.Now)
	ctx := context.Background()
	for name, want := range map[string]error{"nobody": user.ErrNotFound, "peer.x": auth.ErrForbidden} {
		if err := i.Execute(ctx, admin, Input{Username: name, Password: "new password"}); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
	}
	if err := i.Execute(ctx, admin, Input{Username: "target", Password: "short"}); err == nil {
		t.Error("a short password was accepted")
	}
	if h.Hashes != 0 || len(f.calls) != 0 || len(f.Events) != 0 {
		t.Fatalf("refusals hashed %d times, store calls %q", h.Hashes, f.calls)
	}
	f.Give(f.users["target"].ID, 2)
	if err := i.Execute(ctx, admin, Input{Username: "target", Password: "new password"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.calls, "|"); got != "begin|update hash:new password|delete sessions|end" {
		t.Fatalf("calls %q", got)
	}
	target := f.users["target"]
	if got := f.Types(); len(got) != 3 || got[0] != audit.PasswordSet || f.Ended(session.EndedByPassword) != 1 ||
		f.Events[0].Actor.ID != admin.User.ID || f.Events[0].Target.ID != target.ID {
		t.Fatalf("events %+v, want user.password_set, session.ended (password, 1) and api_key.revoked by the admin", f.Events)
	}
	if e := f.Events[2]; len(f.Held) != 0 || e.Type != audit.APIKeyRevoked || e.Details["reason"] != "password_set" || e.Details["revoked"] != 2 || e.Actor.ID != admin.User.ID {
		t.Fatalf("keys left %v, revocation %+v", f.Held, e)
	}
}

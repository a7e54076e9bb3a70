package createuser

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/audit/audittest"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/auth/authtest"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/onetime/onetimetest"
	"github.com/cleanslice/cleanslice/shared/user"
)

type fakeStore struct {
	users []user.User
	audittest.Trail
	authtest.Attempts
	onetimetest.Outbox
}

func (f *fakeStore) InsertUser(_ context.Context, u user.User) error {
	f.users = append(f.users, u)
	return nil
}

var verify = onetime.Verifications{Links: onetime.Links{VerificationURL: "http://app/#token={token}", VerificationTTL: time.Hour}, Key: []byte("address key")}

func actor(r user.Role) auth.Actor {
	return auth.Actor{User: user.User{ID: user.NewID(), Role: r}, SessionID: []byte{1}}
}

func TestCreateUserRoles(t *testing.T) {
	tests := []struct {
		actor user.Role
		role  string
		want  error
	}{
		{user.RoleUser, "user", auth.ErrForbidden},
		{user.RoleAdmin, "user", nil},
		{user.RoleAdmin, "admin", auth.ErrForbidden},
		{user.RoleAdmin, "super_admin", auth.ErrForbidden},
		{user.RoleSuperAdmin, "admin", nil},
		{user.RoleSuperAdmin, "super_admin", auth.ErrForbidden},
		{user.RoleSuperAdmin, "root", apperr.ErrInvalid},
	}
	for _, tc := range tests {
		f := &fakeStore{}
		a := actor(tc.actor)
		u, err := New(f, &authtest.Hasher{}, &f.Outbox, verify, user.AccountRules{MinPasswordLen: 8}, time.Now).Execute(context.Background(), a, Input{Username: "new.user", Password: "quiet-lamp-1", Role: tc.role})
		if tc.want == nil {
			if err != nil || len(f.users) != 1 || string(u.Role) != tc.role || u.PasswordHash != "hash:quiet-lamp-1" || !u.IsActive {
				t.Errorf("%s creating %s: %+v, %v", tc.actor, tc.role, u, err)
			}
			if len(f.Events) != 1 || f.Events[0].Type != audit.UserCreated || f.Events[0].Actor.ID != a.User.ID || f.Events[0].Target.ID != u.ID {
				t.Errorf("%s creating %s: events %+v", tc.actor, tc.role, f.Events)
			}
			continue
		}
		if !errors.Is(err, tc.want) || len(f.users) != 0 || len(f.Events) != 0 {
			t.Errorf("%s creating %s: %v, want %v (%d stored)", tc.actor, tc.role, err, tc.want, len(f.users))
		}
	}
}

// TestCreateUserEmail: the address is kept as typed; with EmailRequired a
// user without one is refused before any hash.
func TestCreateUserEmail(t *testing.T) {
	f := &fakeStore{}
	i := New(f, &authtest.Hasher{}, &f.Outbox, verify, user.AccountRules{MinPasswordLen: 8, EmailRequired: true}, time.Now)
	a := actor(user.RoleAdmin)
	_, err := i.Execute(context.Background(), a, Input{Username: "new.user", Password: "quiet-lamp-1", Role: "user"})
	if e, ok := apperr.As(err); !ok || len(e.Fields) != 1 || e.Fields[0].Field != "email" || len(f.users) != 0 {
		t.Fatalf("no address: %v", err)
	}
	u, err := i.Execute(context.Background(), a, Input{Username: "new.user", Password: "quiet-lamp-1", Role: "user", Email: "New.User@Example.com"})
	if err != nil || u.Email != "New.User@Example.com" || u.EmailVerified() || f.users[0].Email != u.Email {
		t.Fatalf("with an address: %+v, %v", u, err)
	}
	if len(f.Messages) != 1 || f.Messages[0].To != u.Email || len(f.Tokens) != 1 || f.Tokens[0].UserID != u.ID {
		t.Fatalf("verification: %+v, %+v", f.Messages, f.Tokens)
	}
}

// TestFromConsole: the operator creates any role, the first super admin
// included, under the same rules; the event names no actor and says
// via cli.
func TestFromConsole(t *testing.T) {
	f := &fakeStore{}
	i := New(f, &authtest.Hasher{}, &f.Outbox, verify, user.AccountRules{MinPasswordLen: 8}, time.Now)
	u, err := i.FromConsole(context.Background(), Input{Username: "root.admin", Password: "a long enough one", Role: "super_admin"})
	if err != nil || u.Role != user.RoleSuperAdmin || u.PasswordHash != "hash:a long enough one" {
		t.Fatalf("console: %+v, %v", u, err)
	}
	if len(f.Events) != 1 || f.Events[0].Type != audit.UserCreated || !f.Events[0].Actor.ID.IsNil() || f.Events[0].Details["via"] != "cli" {
		t.Fatalf("events %+v: user.created, no actor, via cli", f.Events)
	}
	for _, in := range []Input{
		{Username: "x", Password: "a long enough one", Role: "user"},
		{Username: "root.two", Password: "short", Role: "user"},
		{Username: "root.two", Password: "a long enough one", Role: "emperor"},
	} {
		if _, err := i.FromConsole(context.Background(), in); !errors.Is(err, apperr.ErrInvalid) {
			t.Errorf("%+v: %v, want 422", in, err)
		}
	}
	if len(f.Events) != 1 {
		t.Fatalf("refused creations recorded %d events", len(f.Events)-1)
	}
}

// TestCreateUsersWithOneAddress: creations share the address's cap with
// every other message to it: past it the account is created, without a
// message.
func TestCreateUsersWithOneAddress(t *testing.T) {
	f := &fakeStore{}
	i := New(f, &authtest.Hasher{}, &f.Outbox, verify, user.AccountRules{MinPasswordLen: 8}, time.Now)
	a := actor(user.RoleAdmin)
	for n := range onetime.VerificationsPerAddress + 1 {
		in := Input{Username: fmt.Sprintf("new.user%d", n), Password: "quiet-lamp-1", Role: "user", Email: "Shared@Example.com"}
		if _, err := i.Execute(context.Background(), a, in); err != nil {
			t.Fatalf("creation %d: %v", n+1, err)
		}
	}
	if len(f.users) != onetime.VerificationsPerAddress+1 || len(f.Messages) != onetime.VerificationsPerAddress {
		t.Fatalf("%d users, %d messages; want %d messages", len(f.users), len(f.Messages), onetime.VerificationsPerAddress)
	}
}

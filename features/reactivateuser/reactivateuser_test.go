package reactivateuser

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
	"github.com/cleanslice/cleanslice/shared/user/usertest"
)

// fakeStore is the users table's fake, shared with the other admin
// slices' tests.
type fakeStore = usertest.Users

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// setup returns the interactor, its store and the clock, which a test may
// move. Every user but the actors and active.user is inactive.
func setup() (*Interactor, *fakeStore, *time.Time) {
	earlier := t0.Add(-time.Hour)
	f := &fakeStore{Users: map[string]user.User{}}
	for _, u := range []user.User{
		{Username: "the.super", Role: user.RoleSuperAdmin, IsActive: true},
		{Username: "the.admin", Role: user.RoleAdmin, IsActive: true},
		{Username: "other.super", Role: user.RoleSuperAdmin},
		{Username: "other.admin", Role: user.RoleAdmin},
		{Username: "target", Role: user.RoleUser},
		{Username: "active.user", Role: user.RoleUser, IsActive: true},
	} {
		u.ID, u.UpdatedAt = user.NewID(), earlier
		f.Users[u.Username] = u
	}
	now := t0
	return New(f, func() time.Time { return now }), f, &now
}

// as returns the named user of f as a logged-in actor.
func as(f *fakeStore, name string) auth.Actor {
	return auth.Actor{User: f.Users[name], SessionID: []byte{1}}
}

func TestReactivate(t *testing.T) {
	tests := []struct {
		why, actor, name string
	}{
		{"an admin over a user", "the.admin", "TARGET"},
		{"a super admin over an admin", "the.super", "other.admin"},
	}
	for _, tc := range tests {
		i, f, now := setup()
		ctx, key, actor := context.Background(), strings.ToLower(tc.name), as(f, tc.actor)
		u, err := i.Execute(ctx, actor, Input{Username: tc.name})
		if err != nil || !u.IsActive || !u.UpdatedAt.Equal(t0) || u.ID != f.Users[key].ID {
			t.Fatalf("%s: Execute = %+v, %v", tc.why, u, err)
		}
		if stored := f.Users[key]; !stored.IsActive || !stored.UpdatedAt.Equal(t0) {
			t.Fatalf("%s: stored %+v", tc.why, stored)
		}
		if got := strings.Join(f.Calls, "|"); got != "lock "+tc.name+"|set active true" {
			t.Fatalf("%s: calls %q: the target locked and changed in one transaction", tc.why, got)
		}
		if !slices.Equal(f.Types(), []audit.Type{audit.UserReactivated}) || f.Events[0].Actor.ID != actor.User.ID || f.Events[0].Target.ID != u.ID {
			t.Fatalf("%s: events %+v, want user.reactivated by the actor", tc.why, f.Events)
		}

		// Idempotent: an hour later, reactivating again writes nothing,
		// records nothing and returns the user as it is.
		*now = t0.Add(time.Hour)
		f.Calls = nil
		u2, err := i.Execute(ctx, actor, Input{Username: tc.name})
		if err != nil || u2 != f.Users[key] || !u2.UpdatedAt.Equal(t0) {
			t.Fatalf("%s: second Execute = %+v, %v", tc.why, u2, err)
		}
		if got := strings.Join(f.Calls, "|"); got != "lock "+tc.name || len(f.Events) != 1 || !f.Users[key].UpdatedAt.Equal(t0) {
			t.Fatalf("%s: a no-op: calls %q, %d events, stored %+v", tc.why, got, len(f.Events), f.Users[key])
		}
	}
}

func TestReactivateActiveUser(t *testing.T) {
	i, f, _ := setup()
	before := f.Users["active.user"]
	u, err := i.Execute(context.Background(), as(f, "the.admin"), Input{Username: "active.user"})
	if err != nil || u != before || f.Users["active.user"] != before || len(f.Calls) != 1 || len(f.Events) != 0 {
		t.Fatalf("an active user: %+v, %v, calls %q, events %v; want it unchanged", u, err, f.Calls, f.Types())
	}
}

func TestReactivateRefusals(t *testing.T) {
	i, f, _ := setup()
	plain, admin, super := as(f, "active.user"), as(f, "the.admin"), as(f, "the.super")
	tests := []struct {
		why    string
		actor  auth.Actor
		name   string
		want   error
		lookup bool // whether the target is read before the refusal
	}{
		{"anonymous", auth.Actor{}, "target", auth.ErrNotAuthenticated, false},
		{"a user", plain, "target", auth.ErrForbidden, false},
		{"a user, unknown target: 403 before 404", plain, "nobody.here", auth.ErrForbidden, false},
		{"a user, bad name: 403 before 422", plain, "", auth.ErrForbidden, false},
		{"a bad name", admin, "", apperr.ErrInvalid, false},
		{"an unknown target", admin, "nobody.here", user.ErrNotFound, true},
		{"an admin, itself", admin, "the.admin", auth.ErrForbidden, true},
		{"an admin, a peer", admin, "other.admin", auth.ErrForbidden, true},
		{"an admin, a super admin", admin, "other.super", auth.ErrForbidden, true},
		{"a super admin, a peer", super, "other.super", auth.ErrForbidden, true},
	}
	for _, tc := range tests {
		f.Calls = nil
		_, err := i.Execute(context.Background(), tc.actor, Input{Username: tc.name})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.why, err, tc.want)
		}
		want := []string{}
		if tc.lookup {
			want = []string{"lock " + tc.name}
		}
		if !slices.Equal(f.Calls, want) {
			t.Errorf("%s: calls %q, want %q", tc.why, f.Calls, want)
		}
	}
	if len(f.Events) != 0 {
		t.Fatalf("a refused request recorded %+v", f.Events)
	}
}

package revokeadmin

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

// setup returns the interactor, its store, a super admin among the users,
// and the clock, which a test may move.
func setup() (*Interactor, *fakeStore, auth.Actor, *time.Time) {
	super := user.User{ID: user.NewID(), Username: "the.super", Role: user.RoleSuperAdmin, IsActive: true}
	earlier := t0.Add(-time.Hour)
	f := &fakeStore{Users: map[string]user.User{
		"the.super":   super,
		"other.super": {ID: user.NewID(), Username: "other.super", Role: user.RoleSuperAdmin, IsActive: true, UpdatedAt: earlier},
		"an.admin":    {ID: user.NewID(), Username: "an.admin", Role: user.RoleAdmin, IsActive: true, UpdatedAt: earlier},
		"target":      {ID: user.NewID(), Username: "target", Role: user.RoleUser, IsActive: true, UpdatedAt: earlier},
	}}
	now := t0
	return New(f, func() time.Time { return now }), f, auth.Actor{User: super, SessionID: []byte{1}}, &now
}

func TestRevoke(t *testing.T) {
	i, f, super, now := setup()
	ctx := context.Background()
	u, err := i.Execute(ctx, super, Input{Username: "An.Admin"})
	if err != nil || u.Role != user.RoleUser || !u.UpdatedAt.Equal(t0) || u.ID != f.Users["an.admin"].ID {
		t.Fatalf("Execute = %+v, %v", u, err)
	}
	if stored := f.Users["an.admin"]; stored.Role != user.RoleUser || !stored.UpdatedAt.Equal(t0) {
		t.Fatalf("stored %+v", stored)
	}
	if got := strings.Join(f.Calls, "|"); got != "lock An.Admin|set role user" {
		t.Fatalf("calls %q: the target locked and changed in one transaction", got)
	}
	if !slices.Equal(f.Types(), []audit.Type{audit.AdminRevoked}) || f.Events[0].Actor.ID != super.User.ID || f.Events[0].Target.ID != u.ID {
		t.Fatalf("events %+v, want user.revoked_admin by the super admin", f.Events)
	}

	// Idempotent: an hour later, revoking again writes nothing, records
	// nothing and returns the user as it is; so does revoking from a user
	// who never was an admin.
	*now = t0.Add(time.Hour)
	for _, name := range []string{"an.admin", "target"} {
		f.Calls = nil
		before := f.Users[name]
		u, err := i.Execute(ctx, super, Input{Username: name})
		if err != nil || u != before || u.Role != user.RoleUser {
			t.Fatalf("revoking %s again = %+v, %v; want %+v", name, u, err, before)
		}
		if got := strings.Join(f.Calls, "|"); got != "lock "+name || len(f.Events) != 1 || f.Users[name] != before {
			t.Fatalf("a no-op on %s: calls %q, %d events, stored %+v", name, got, len(f.Events), f.Users[name])
		}
	}
}

func TestRevokeRefusals(t *testing.T) {
	i, f, super, _ := setup()
	admin := auth.Actor{User: f.Users["an.admin"], SessionID: []byte{1}}
	plain := auth.Actor{User: f.Users["target"], SessionID: []byte{1}}
	tests := []struct {
		why    string
		actor  auth.Actor
		name   string
		want   error
		lookup bool // whether the target is read before the refusal
	}{
		{"anonymous", auth.Actor{}, "an.admin", auth.ErrNotAuthenticated, false},
		{"a user", plain, "an.admin", auth.ErrForbidden, false},
		{"a user, unknown target: 403 before 404", plain, "nobody.here", auth.ErrForbidden, false},
		{"an admin, itself: revoking is for super admins", admin, "an.admin", auth.ErrForbidden, false},
		{"an admin, unknown target: 403 before 404", admin, "nobody.here", auth.ErrForbidden, false},
		{"an admin, bad name: 403 before 422", admin, "", auth.ErrForbidden, false},
		{"a bad name", super, "", apperr.ErrInvalid, false},
		{"an unknown target", super, "nobody.here", user.ErrNotFound, true},
		{"itself", super, "the.super", auth.ErrForbidden, true},
		{"a peer", super, "other.super", auth.ErrForbidden, true},
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

package sqlstore_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

func TestUpdatePasswordAndActive(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		u := insertUser(t, s, "alice")
		later := t0.Add(time.Hour)
		if err := s.UpdatePasswordHash(ctx, u.ID, "$new", later); err != nil {
			t.Fatal(err)
		}
		if err := s.SetUserActive(ctx, u.ID, false, later); err != nil {
			t.Fatal(err)
		}
		got, _ := s.UserByID(ctx, u.ID)
		if got.PasswordHash != "$new" || got.IsActive || !got.UpdatedAt.Equal(later) || !got.CreatedAt.Equal(u.CreatedAt) {
			t.Fatalf("user after updates %+v", got)
		}
		if err := s.SetUserActive(ctx, user.NewID(), true, later); !errors.Is(err, user.ErrNotFound) {
			t.Fatalf("update of a missing user: %v", err)
		}
	})
}

// TestPasswordHashSwaps: a change and a rehash replace only the hash they
// were checked against; a rehash leaves updated_at alone.
func TestPasswordHashSwaps(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		u := insertUser(t, s, "alice")
		later := t0.Add(time.Hour)
		if ok, err := s.RehashPassword(ctx, u.ID, "$stale", "$rehash"); err != nil || ok {
			t.Fatalf("rehash over another hash: %v, %v", ok, err)
		}
		if ok, err := s.RehashPassword(ctx, u.ID, u.PasswordHash, "$rehash"); err != nil || !ok {
			t.Fatalf("rehash: %v, %v", ok, err)
		}
		if got, _ := s.UserByID(ctx, u.ID); got.PasswordHash != "$rehash" || !got.UpdatedAt.Equal(u.UpdatedAt) {
			t.Fatalf("after the rehash: %+v", got)
		}
		if ok, err := s.ReplacePasswordHash(ctx, u.ID, u.PasswordHash, "$changed", later); err != nil || ok {
			t.Fatalf("change over another hash: %v, %v", ok, err)
		}
		if ok, err := s.ReplacePasswordHash(ctx, u.ID, "$rehash", "$changed", later); err != nil || !ok {
			t.Fatalf("change: %v, %v", ok, err)
		}
		if got, _ := s.UserByID(ctx, u.ID); got.PasswordHash != "$changed" || !got.UpdatedAt.Equal(later) {
			t.Fatalf("after the change: %+v", got)
		}
	})
}

func TestInsertAndFindUser(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		u := newUser("Alice.Smith", user.RoleAdmin)
		u.CreatedAt = t0.Add(789 * time.Nanosecond) // below microsecond precision
		if err := s.InsertUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		u.CreatedAt = t0
		for _, name := range []string{"Alice.Smith", "alice.smith", "ALICE.SMITH"} {
			got, err := s.UserByUsername(ctx, name)
			if err != nil {
				t.Fatalf("UserByUsername(%q): %v", name, err)
			}
			if got != u {
				t.Fatalf("UserByUsername(%q) = %+v, want %+v", name, got, u)
			}
		}
		got, err := s.UserByID(ctx, u.ID)
		if err != nil || got != u {
			t.Fatalf("UserByID = %+v, %v; want %+v", got, err, u)
		}
	})
}

func TestUserNotFound(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		if _, err := s.UserByUsername(ctx, "nobody"); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("UserByUsername: %v, want ErrNotFound", err)
		}
		if _, err := s.UserByID(ctx, user.NewID()); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("UserByID: %v, want ErrNotFound", err)
		}
	})
}

func TestUsernameUniqueIgnoringCase(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		if err := s.InsertUser(ctx, newUser("bob.jones", user.RoleUser)); err != nil {
			t.Fatal(err)
		}
		err := s.InsertUser(ctx, newUser("Bob.Jones", user.RoleUser))
		if !errors.Is(err, user.ErrUsernameTaken) {
			t.Fatalf("second insert: %v, want ErrUsernameTaken", err)
		}
	})
}

func TestRoleConstraint(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		err := s.InsertUser(context.Background(), newUser("carol", user.Role("root")))
		if err == nil {
			t.Fatal("a user with an unknown role was stored")
		}
	})
}

func TestConcurrentInsertsOfOneName(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		const n = 20
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				errs[i] = s.WithinTx(ctx, func(ctx context.Context) error {
					return s.InsertUser(ctx, newUser("grace", user.RoleUser))
				})
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, user.ErrUsernameTaken):
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d inserts succeeded, want 1", ok)
		}
	})
}

// TestDeleteUser: the user goes with their sessions; the audit trail keeps
// its events with null references; queued mail stays; a second delete is
// user.ErrNotFound.
func TestDeleteUser(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		u := insertUser(t, s, "alice")
		other := insertUser(t, s, "bob")
		_, id := session.NewSecret()
		if err := s.InsertSession(ctx, session.Policy{TTL: time.Hour, AbsoluteTTL: 2 * time.Hour}.Start(id, u.ID, t0)); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordEvent(ctx, audit.New(ctx, t0, audit.LoginSucceeded, u.ID, u.ID, nil)); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteUser(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UserByID(ctx, u.ID); !errors.Is(err, user.ErrNotFound) {
			t.Fatalf("the user after the delete: %v", err)
		}
		if _, err := s.UserByID(ctx, other.ID); err != nil {
			t.Fatalf("another user: %v", err)
		}
		var sessions, events, named int
		s.DB().QueryRow(`SELECT count(*) FROM sessions WHERE user_id = $1`, u.ID).Scan(&sessions)
		s.DB().QueryRow(`SELECT count(*) FROM audit_events`).Scan(&events)
		s.DB().QueryRow(`SELECT count(*) FROM audit_events WHERE actor_id = $1 OR target_id = $1`, u.ID).Scan(&named)
		if sessions != 0 || events != 1 || named != 0 {
			t.Fatalf("after the delete: %d sessions, %d events (%d naming the user)", sessions, events, named)
		}
		if err := s.DeleteUser(ctx, u.ID); !errors.Is(err, user.ErrNotFound) {
			t.Fatalf("a second delete: %v", err)
		}
	})
}

// TestAddressesUniqueAmongVerified: any number of accounts may claim an
// address (ignoring case) while none has verified it, at insertion and by
// a change; recovery's lookup finds only a verified address; once one
// account has verified it, nobody else may take it (user.ErrEmailTaken),
// the others' claims are cleared, and a claim that slipped in anyway
// cannot be verified.
func TestAddressesUniqueAmongVerified(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		later := t0.Add(time.Hour)
		withEmail := func(name, email string) user.User {
			u := newUser(name, user.RoleUser)
			u.Email = email
			return u
		}
		alice, bob := withEmail("alice", "Shared@Example.com"), withEmail("bob", "shared@example.com")
		for _, u := range []user.User{alice, bob} {
			if err := s.InsertUser(ctx, u); err != nil {
				t.Fatalf("an unverified claim of %s: %v", u.Username, err)
			}
		}
		carol := insertUser(t, s, "carol")
		if ok, err := s.ReplaceEmail(ctx, carol, "SHARED@example.com", later); err != nil || !ok {
			t.Fatalf("a change to an unverified claim: %v, %v", ok, err)
		}
		carol.Email = "SHARED@example.com"
		if _, err := s.UserByEmail(ctx, "shared@example.com"); !errors.Is(err, user.ErrNotFound) {
			t.Fatalf("recovery's lookup of an unverified address: %v", err)
		}

		if err := s.SetEmailVerified(ctx, alice.ID, "shared@EXAMPLE.com", later); err != nil {
			t.Fatal(err)
		}
		cleared, err := s.ClearEmailClaims(ctx, "shared@EXAMPLE.com", alice.ID, later)
		if err != nil || len(cleared) != 2 || !slices.Contains(cleared, bob.ID) || !slices.Contains(cleared, carol.ID) {
			t.Fatalf("ClearEmailClaims = %v, %v; want bob and carol", cleared, err)
		}
		for _, u := range []user.User{bob, carol} {
			if got, _ := s.UserByID(ctx, u.ID); got.Email != "" || !got.UpdatedAt.Equal(later) {
				t.Fatalf("%s after alice verified: %+v", u.Username, got)
			}
		}
		if got, err := s.UserByEmail(ctx, "SHARED@example.com"); err != nil || got.ID != alice.ID || !got.EmailVerified() {
			t.Fatalf("recovery's lookup: %+v, %v", got, err)
		}

		if err := s.InsertUser(ctx, withEmail("dave", "shared@example.COM")); !errors.Is(err, user.ErrEmailTaken) {
			t.Fatalf("a new account with a verified address: %v", err)
		}
		if ok, err := s.ReplaceEmail(ctx, bob, "Shared@Example.com", later); !errors.Is(err, user.ErrEmailTaken) || ok {
			t.Fatalf("a change to a verified address: %v, %v", ok, err)
		}
		if ok, err := s.ReplaceEmail(ctx, alice, "shared@example.com", later); err != nil || !ok {
			t.Fatalf("its owner, in another case: %v, %v", ok, err)
		}
		if err := s.SetEmailVerified(ctx, alice.ID, "shared@example.com", later); err != nil {
			t.Fatal(err)
		}
		// A claim that raced the verification: the unique index keeps it
		// from being verified.
		if _, err := s.DB().Exec(`UPDATE users SET email = 'SHARED@example.com' WHERE id = $1`, bob.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.SetEmailVerified(ctx, bob.ID, "SHARED@example.com", later); !errors.Is(err, user.ErrEmailTaken) {
			t.Fatalf("verifying an address another account verified: %v", err)
		}
		if err := s.SetEmailVerified(ctx, carol.ID, "carol@example.com", later); !errors.Is(err, user.ErrNotFound) {
			t.Fatalf("verifying an address that is not the user's: %v", err)
		}
	})
}

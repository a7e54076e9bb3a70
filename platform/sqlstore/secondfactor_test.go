package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// insertAt is InsertSessionIfCurrent of a new session of u made with
// methods (a password alone: aal 1).
func insertAt(t *testing.T, ctx context.Context, s *sqlstore.Store, u user.User, methods ...string) bool {
	t.Helper()
	_, id := session.NewSecret()
	ok, err := s.InsertSessionIfCurrent(ctx, policy.Start(id, u.ID, t0).MadeWith(methods), u.PasswordHash)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func testPasskey(userID uuid.UUID) mfa.Passkey {
	return mfa.Passkey{ID: uuid.Must(uuid.NewV4()).Bytes(), PublicID: uuid.Must(uuid.NewV7()), UserID: userID, Name: "key", Record: []byte(`{}`), CreatedAt: t0}
}

// TestSecondFactorFlag: users.second_factor follows the factors whatever
// writes them (the triggers of migration 000027): an authenticator app
// counts once enabled, a passkey at once, and the flag drops with the last
// of them; the user read with a session carries it. While it is set, a session made with a password alone (aal 1)
// is not stored; one that proved a second factor is.
func TestSecondFactorFlag(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		u := insertUser(t, s, "alice")
		ss := startSession(t, s, u, t0)
		flag := func(want bool, when string) {
			t.Helper()
			got, err := s.UserByID(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			_, withSession, err := s.SessionWithUser(ctx, ss.ID) // what authenticate reads
			if err != nil {
				t.Fatal(err)
			}
			if got.SecondFactor != want || withSession.SecondFactor != want {
				t.Fatalf("%s: second_factor = %v (with the session: %v), want %v", when, got.SecondFactor, withSession.SecondFactor, want)
			}
		}
		flag(false, "a new user")
		if ok, err := s.SetUpTOTP(ctx, u.ID, []byte("sealed"), t0); err != nil || !ok {
			t.Fatal(ok, err)
		}
		flag(false, "an app set up, not confirmed")
		if !insertAt(t, ctx, s, u, mfa.MethodPassword) {
			t.Fatal("no factor yet: a password session was not stored")
		}
		if ok, err := s.EnableTOTP(ctx, u.ID, []byte("sealed"), []byte("sealed"), 1, t0); err != nil || !ok {
			t.Fatal(ok, err)
		}
		flag(true, "an app enabled")
		if insertAt(t, ctx, s, u, mfa.MethodPassword) {
			t.Fatal("a password session stored for a user with a second factor")
		}
		if !insertAt(t, ctx, s, u, mfa.MethodPassword, mfa.MethodTOTP) {
			t.Fatal("a session that proved the second factor was not stored")
		}
		pk := testPasskey(u.ID)
		if err := s.InsertPasskey(ctx, pk); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.DeleteTOTP(ctx, u.ID); err != nil || !ok {
			t.Fatal(ok, err)
		}
		flag(true, "the app removed, a passkey left")
		if err := s.DeletePasskey(ctx, u.ID, pk.PublicID); err != nil {
			t.Fatal(err)
		}
		flag(false, "the last factor removed")
		if !insertAt(t, ctx, s, u, mfa.MethodPassword) {
			t.Fatal("no factor left: a password session was not stored")
		}
		if err := s.InsertPasskey(ctx, testPasskey(u.ID)); err != nil {
			t.Fatal(err)
		}
		if n, err := s.DeletePasskeys(ctx, u.ID); err != nil || n != 1 {
			t.Fatal(n, err)
		}
		flag(false, "every passkey removed at once")
	})
}

// TestSecondFactorEnrollmentRacesALogin: a first factor enrolled while a
// password login stores its session. The enrollment's factor updates the
// user's row; the login's insert, waiting for that row, sees the new
// version and stores nothing (PostgreSQL: READ COMMITTED rechecks the
// locked row, not the other tables the statement read, which is why the
// flag is on the user's row). SQLite serializes the two transactions.
func TestSecondFactorEnrollmentRacesALogin(t *testing.T) {
	s := dbtest.Open(t, "postgres")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := insertUser(t, s, "alice")
	enrolled, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.WithinTx(ctx, func(ctx context.Context) error {
			if err := s.InsertPasskey(ctx, testPasskey(u.ID)); err != nil {
				return err
			}
			close(enrolled)
			<-release // the login's insert runs meanwhile, and waits
			return nil
		})
	}()
	<-enrolled
	type result struct {
		ok  bool
		err error
	}
	stored := make(chan result, 1)
	go func() {
		_, id := session.NewSecret()
		ok, err := s.InsertSessionIfCurrent(ctx, policy.Start(id, u.ID, t0).MadeWith([]string{mfa.MethodPassword}), u.PasswordHash)
		stored <- result{ok, err}
	}()
	select {
	case r := <-stored:
		t.Fatalf("the login's insert did not wait for the enrollment: %+v", r)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r := <-stored; r.err != nil || r.ok {
		t.Fatalf("a password session after the first factor's enrollment committed: %+v", r)
	}
}

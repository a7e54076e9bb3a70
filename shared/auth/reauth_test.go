package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/auth/authtest"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/user"
)

// reauthStore is the attempt windows, a trail and a user row whose hash
// may change between the check and the change; it records whether the
// change ran inside a transaction and under the row lock.
type reauthStore struct {
	authtest.Attempts
	authtest.Sessions
	hash    string // the user's stored hash now
	factors mfa.Factors
	events  []audit.Type
	inTx    bool
	locked  bool
}

func (s *reauthStore) RecordEvent(_ context.Context, e audit.Event) error {
	s.events = append(s.events, e.Type)
	return nil
}

func (s *reauthStore) Factors(context.Context, uuid.UUID) (mfa.Factors, error) { return s.factors, nil }

func (s *reauthStore) LockUserWithPassword(_ context.Context, _ uuid.UUID, hash string) (bool, error) {
	s.locked = s.inTx && hash == s.hash
	return s.locked, nil
}

func (s *reauthStore) WithinTx(ctx context.Context, fn func(context.Context) error) error {
	s.inTx = true
	defer func() { s.inTx, s.locked = false, false }()
	return fn(ctx)
}

type verifier struct{}

func (verifier) Verify(_ context.Context, encoded, password string) (bool, error) {
	return encoded == "hash:"+password, nil
}

// TestReauthenticatedChange: Change is the whole protocol of a change
// after the current password: it runs the change in a transaction under
// the user's row lock while the checked password is still theirs, settles
// the attempt with it, and gives a right password's attempt back when the
// change is refused for another reason.
func TestReauthenticatedChange(t *testing.T) {
	guard := auth.Guard{PerUser: 5, PerIP: 50, Window: time.Hour, Key: []byte("k")}
	alice := auth.Actor{User: user.User{ID: user.NewID(), Username: "alice", PasswordHash: "hash:pw"}, SessionID: []byte{1}}
	userKey := guard.UserKey("alice")
	refused := &apperr.Error{Kind: apperr.KindConflict, Code: "taken", Message: "taken"}
	now := time.Unix(1000, 0)
	ctx := context.Background()

	for _, tc := range []struct {
		name     string
		stored   string // the hash when the change runs
		fn       func(s *reauthStore) error
		want     error
		counted  int  // attempts left in the user's window
		recorded bool // whether fn ran and its change stands
	}{
		{name: "made", stored: "hash:pw", want: nil, counted: 0, recorded: true,
			fn: func(s *reauthStore) error {
				if !s.inTx || !s.locked {
					t.Error("the change ran outside the transaction or the row lock")
				}
				return nil
			}},
		{name: "password replaced meanwhile", stored: "hash:reset", want: auth.ErrWrongPassword, counted: 1,
			fn: func(*reauthStore) error { t.Error("the change ran over a replaced password"); return nil }},
		{name: "refused for another reason", stored: "hash:pw", want: refused, counted: 0,
			fn: func(*reauthStore) error { return refused }},
		{name: "session ended meanwhile", stored: "hash:pw", want: auth.ErrNotAuthenticated, counted: 0,
			fn: func(*reauthStore) error { t.Error("the change ran for an ended session"); return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &reauthStore{hash: "hash:pw"}
			// A wrong password first: it stays counted whatever follows.
			if _, err := guard.Reauthenticate(ctx, s, verifier{}, now, alice, "nope", "192.0.2.1", "test"); !errors.Is(err, auth.ErrWrongPassword) {
				t.Fatalf("wrong password: %v", err)
			}
			if len(s.events) != 1 || s.events[0] != audit.ReauthenticationFailed {
				t.Fatalf("events %v: the wrong password is recorded", s.events)
			}
			r, err := guard.Reauthenticate(ctx, s, verifier{}, now, alice, "pw", "192.0.2.1", "test")
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Count(userKey); got != 2 {
				t.Fatalf("%d attempts counted before the change, want 2", got)
			}
			s.hash = tc.stored
			if tc.name == "session ended meanwhile" {
				s.Gone = map[string]bool{string(alice.SessionID): true} // a reset of the factors, say
			}
			ran := false
			err = r.Change(ctx, func(context.Context) error { ran = true; return tc.fn(s) })
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Change = %v, want %v", err, tc.want)
			}
			if ran != (tc.stored == "hash:pw" && s.Gone == nil) {
				t.Fatalf("the change ran: %v", ran)
			}
			// A right password clears the user's window (the wrong one
			// before it too) when the change is made; a replaced one
			// leaves both counted; a refusal gives the right one back.
			want := map[string]int{"made": 0, "password replaced meanwhile": 2, "refused for another reason": 1, "session ended meanwhile": 1}[tc.name]
			if got := s.Count(userKey); got != want {
				t.Fatalf("%d attempts counted after, want %d", got, want)
			}
		})
	}
}

// TestReauthenticateThrottles: a full window refuses before the password
// is verified, and counts nothing more.
func TestReauthenticateThrottles(t *testing.T) {
	guard := auth.Guard{PerUser: 2, PerIP: 50, Window: time.Hour, Key: []byte("k")}
	alice := auth.Actor{User: user.User{ID: user.NewID(), Username: "alice", PasswordHash: "hash:pw"}, SessionID: []byte{1}}
	s := &reauthStore{hash: "hash:pw"}
	ctx, now := context.Background(), time.Unix(1000, 0)
	for range 2 {
		if _, err := guard.Reauthenticate(ctx, s, verifier{}, now, alice, "nope", "192.0.2.1", "test"); !errors.Is(err, auth.ErrWrongPassword) {
			t.Fatal(err)
		}
	}
	_, err := guard.Reauthenticate(ctx, s, verifier{}, now, alice, "pw", "192.0.2.1", "test")
	if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindTooManyRequests {
		t.Fatalf("right password in a full window: %v", err)
	}
	if len(s.events) != 2 {
		t.Fatalf("events %v: a throttled check records nothing", s.events)
	}
}

// TestAssuranceOfCredentialChanges: a user with a second factor changes
// credentials only from a session made with one. A password-only session
// is refused before its password costs a try, and a factor enrolled after
// the check (a racing enrollment) still refuses the change, giving the
// right password back.
func TestAssuranceOfCredentialChanges(t *testing.T) {
	guard := auth.Guard{PerUser: 5, PerIP: 50, Window: time.Hour, Key: []byte("k")}
	u := user.User{ID: user.NewID(), Username: "alice", PasswordHash: "hash:pw"}
	aal1 := auth.Actor{User: u, SessionID: []byte{1}, Methods: []string{mfa.MethodPassword}}
	aal2 := auth.Actor{User: u, SessionID: []byte{2}, Methods: []string{mfa.MethodPassword, mfa.MethodTOTP}}
	ctx, now := context.Background(), time.Unix(1000, 0)
	enrolled := mfa.Factors{TOTPEnabledAt: now}

	s := &reauthStore{hash: "hash:pw", factors: enrolled}
	if _, err := guard.Reauthenticate(ctx, s, verifier{}, now, aal1, "pw", "192.0.2.1", "test"); !errors.Is(err, auth.ErrAAL2Required) {
		t.Fatalf("aal 1 with a factor: %v", err)
	}
	if n := s.Count(guard.UserKey("alice")); n != 0 {
		t.Fatalf("%d attempts counted: the refusal costs no try", n)
	}
	r, err := guard.Reauthenticate(ctx, s, verifier{}, now, aal2, "pw", "192.0.2.1", "test")
	if err != nil {
		t.Fatalf("aal 2: %v", err)
	}
	if err := r.Change(ctx, func(context.Context) error { return nil }); err != nil {
		t.Fatalf("aal 2 change: %v", err)
	}

	// Enrolled between the check and the change.
	s = &reauthStore{hash: "hash:pw"}
	r, err = guard.Reauthenticate(ctx, s, verifier{}, now, aal1, "pw", "192.0.2.1", "test")
	if err != nil {
		t.Fatalf("aal 1 without a factor: %v", err)
	}
	s.factors = enrolled
	ran := false
	if err := r.Change(ctx, func(context.Context) error { ran = true; return nil }); !errors.Is(err, auth.ErrAAL2Required) || ran {
		t.Fatalf("a factor enrolled meanwhile: %v, the change ran: %v", err, ran)
	}
	if n := s.Count(guard.UserKey("alice")); n != 0 {
		t.Fatalf("%d attempts counted: the right password is given back", n)
	}
}

// TestConfirm: a user with a password confirms with it; one without
// confirms with a session signed in within RecentSignIn, under the
// assurance rule, and the change still checks, under the row lock, that
// no password was set since.
func TestConfirm(t *testing.T) {
	guard := auth.Guard{PerUser: 5, PerIP: 50, Window: time.Hour, Key: []byte("k")}
	ctx, now := context.Background(), time.Unix(100000, 0)
	withPassword := auth.Actor{User: user.User{ID: user.NewID(), Username: "alice", PasswordHash: "hash:pw"}, SessionID: []byte{1}, SignedInAt: now}
	s := &reauthStore{hash: "hash:pw"}
	if _, err := guard.Confirm(ctx, s, verifier{}, now, withPassword, "nope", "192.0.2.1", "test"); !errors.Is(err, auth.ErrWrongPassword) {
		t.Fatalf("a wrong password, signed in just now: %v", err)
	}

	none := auth.Actor{User: user.User{ID: user.NewID(), Username: "bob.smith", PasswordHash: user.NoPassword}, SessionID: []byte{1}, Methods: []string{"oidc"}}
	for _, c := range []struct {
		name     string
		signedIn time.Time
		factors  mfa.Factors
		want     error
	}{
		{"signed in just now", now, mfa.Factors{}, nil},
		{"signed in ten minutes ago", now.Add(-auth.RecentSignIn), mfa.Factors{}, nil},
		{"signed in longer ago", now.Add(-auth.RecentSignIn - time.Second), mfa.Factors{}, auth.ErrReauthenticationRequired},
		{"not known when", time.Time{}, mfa.Factors{}, auth.ErrReauthenticationRequired},
		{"a second factor, a session without", now, mfa.Factors{Passkeys: 1}, auth.ErrAAL2Required},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &reauthStore{hash: user.NoPassword, factors: c.factors}
			a := none
			a.SignedInAt = c.signedIn
			r, err := guard.Confirm(ctx, s, verifier{}, now, a, "", "192.0.2.1", "test")
			if !errors.Is(err, c.want) || c.want == nil && err != nil {
				t.Fatalf("Confirm = %v, want %v", err, c.want)
			}
			if err != nil {
				return
			}
			ran := false
			if err := r.Change(ctx, func(context.Context) error { ran = s.locked; return nil }); err != nil || !ran {
				t.Fatalf("the change: %v, under the lock %v", err, ran)
			}
			s.hash = "hash:set since"
			if err := r.Change(ctx, func(context.Context) error { t.Error("ran over a password set since"); return nil }); !errors.Is(err, auth.ErrWrongPassword) {
				t.Fatalf("a password set since: %v", err)
			}
		})
	}
}

// TestReauthenticateRefusesKeys: an API key never changes a credential,
// even with the right password: refused before anything is counted or
// verified.
func TestReauthenticateRefusesKeys(t *testing.T) {
	guard := auth.Guard{PerUser: 5, PerIP: 50, Window: time.Hour, Key: []byte("k")}
	key := auth.Actor{User: user.User{ID: user.NewID(), Username: "alice", PasswordHash: "hash:pw"}, APIKey: uuid.Must(uuid.NewV4())}
	s := &reauthStore{hash: "hash:pw"}
	if _, err := guard.Reauthenticate(context.Background(), s, verifier{}, time.Unix(1000, 0), key, "pw", "192.0.2.1", "test"); !errors.Is(err, auth.ErrSessionRequired) {
		t.Fatalf("a key: %v", err)
	}
	if s.Count(guard.UserKey("alice")) != 0 || len(s.events) != 0 {
		t.Fatal("a key's attempt was counted or recorded")
	}
	if err := auth.RequireSession(auth.Actor{}); !errors.Is(err, auth.ErrNotAuthenticated) {
		t.Fatalf("nobody: %v", err)
	}
	if err := auth.RequireSession(auth.Actor{User: key.User, SessionID: []byte{1}}); err != nil {
		t.Fatalf("a session: %v", err)
	}
}

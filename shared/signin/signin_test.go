package signin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/audit/audittest"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

var errBroken = errors.New("store down")

// fakeStore holds one user's row and sessions (oldest first) and records
// the calls made to it; the call named by fail, if any, fails.
type fakeStore struct {
	audittest.Trail
	user     user.User
	sessions []session.Session
	calls    []string
	fail     string
}

func (f *fakeStore) call(c string) error {
	f.calls = append(f.calls, c)
	if f.fail != "" && c == f.fail {
		return errBroken
	}
	return nil
}

// InsertSessionIfCurrent stores s only while its user is active with hash,
// as the SQL store does under the user's row lock.
func (f *fakeStore) InsertSessionIfCurrent(_ context.Context, s session.Session, hash string) (bool, error) {
	if err := f.call("insert"); err != nil {
		return false, err
	}
	if s.UserID != f.user.ID || !f.user.IsActive || f.user.PasswordHash != hash {
		return false, nil
	}
	f.sessions = append(f.sessions, s)
	return true, nil
}

// DeleteOldestSessions keeps the user's newest keep sessions.
func (f *fakeStore) DeleteOldestSessions(_ context.Context, userID uuid.UUID, keep int) (int, error) {
	if err := f.call(fmt.Sprintf("keep %d", keep)); err != nil {
		return 0, err
	}
	if userID != f.user.ID {
		return 0, nil
	}
	n := max(len(f.sessions)-keep, 0)
	f.sessions = f.sessions[n:]
	return n, nil
}

func (f *fakeStore) RecordEvent(ctx context.Context, e audit.Event) error {
	if err := f.call("event " + string(e.Type)); err != nil {
		return err
	}
	return f.Trail.RecordEvent(ctx, e)
}

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

var rules = Rules{Policy: session.Policy{TTL: 15 * time.Minute, RefreshRatio: 0.2, AbsoluteTTL: 24 * time.Hour}, SessionsPerUser: 3}

// setup returns a store holding alice, active with the hash of "pw", and
// her existing sessions, and a login of hers under that hash.
func setup(existing int) (*fakeStore, Login) {
	alice := user.User{ID: user.NewID(), Username: "alice", PasswordHash: "hash:pw", Role: user.RoleUser, IsActive: true}
	f := &fakeStore{user: alice}
	for k := range existing {
		_, id := session.NewSecret()
		f.sessions = append(f.sessions, rules.Policy.Start(id, alice.ID, t0.Add(time.Duration(k-existing)*time.Minute)))
	}
	return f, Login{User: alice, PasswordHash: "hash:pw", Methods: []string{mfa.MethodPassword}}
}

func TestStart(t *testing.T) {
	f, l := setup(1)
	l.Methods = []string{mfa.MethodPassword, mfa.MethodTOTP}
	l.UserAgent, l.IP = "Firefox\x00\n/1", "10.0.0.1"
	l.Details = map[string]any{"recovery_codes_left": 4}
	s, secret, err := rules.Start(context.Background(), f, t0, l)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := session.IDFromSecret(secret); err != nil || !bytes.Equal(id, s.ID) {
		t.Fatalf("the secret %q is not the session's: %v", secret, err)
	}
	if s.UserID != l.User.ID || s.UserAgent != "Firefox/1" || s.IP != "10.0.0.1" || !s.CreatedAt.Equal(t0) ||
		!s.ExpiresAt.Equal(t0.Add(15*time.Minute)) || !s.AbsoluteExpiresAt.Equal(t0.Add(24*time.Hour)) {
		t.Fatalf("session %+v", s)
	}
	if len(f.sessions) != 2 || !reflect.DeepEqual(f.sessions[1], s) {
		t.Fatalf("stored %+v, want the old session and %+v", f.sessions, s)
	}
	if got := strings.Join(f.calls, "|"); got != "insert|keep 3|event login.succeeded" {
		t.Fatalf("calls %q", got)
	}
	e := f.Events[0]
	if e.Type != audit.LoginSucceeded || e.Actor.ID != l.User.ID || e.Target.ID != l.User.ID || !e.OccurredAt.Equal(t0) {
		t.Fatalf("event %+v, want login.succeeded by and on alice", e)
	}
	if !reflect.DeepEqual(e.Details["methods"], []string{"password", "totp"}) || e.Details["recovery_codes_left"] != 4 {
		t.Fatalf("details %v, want the methods and the login's own details", e.Details)
	}
}

// A session is at the assurance level of the methods that made it.
func TestStartMadeWith(t *testing.T) {
	tests := []struct {
		methods []string
		aal     int
	}{
		{[]string{mfa.MethodPassword}, mfa.AAL1},
		{[]string{mfa.MethodPassword, mfa.MethodTOTP}, mfa.AAL2},
		{[]string{mfa.MethodPassword, mfa.MethodRecoveryCode}, mfa.AAL2},
		{[]string{mfa.MethodWebAuthn}, mfa.AAL2},
	}
	for _, tc := range tests {
		f, l := setup(0)
		l.Methods = tc.methods
		s, _, err := rules.Start(context.Background(), f, t0, l)
		if err != nil || s.AAL != tc.aal || !slices.Equal(s.Methods, tc.methods) || f.sessions[0].AAL != tc.aal {
			t.Errorf("%v: session %+v, %v; want aal %d", tc.methods, s, err, tc.aal)
		}
	}
}

// Past the per-user limit, the oldest sessions end, and session.ended
// says how many; within it, nothing ends and nothing more is recorded.
func TestStartSessionLimit(t *testing.T) {
	tests := []struct{ existing, limit, ended int }{
		{0, 3, 0},
		{2, 3, 0},
		{3, 3, 1},
		{5, 3, 3},
		{1, 1, 1},
	}
	for _, tc := range tests {
		f, l := setup(tc.existing)
		newest := append([]session.Session(nil), f.sessions[tc.ended:]...)
		r := rules
		r.SessionsPerUser = tc.limit
		s, _, err := r.Start(context.Background(), f, t0, l)
		if err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		if want := append(newest, s); !reflect.DeepEqual(f.sessions, want) {
			t.Errorf("%+v: kept %d sessions, want the newest %d", tc, len(f.sessions), len(want))
		}
		want := []audit.Type{audit.LoginSucceeded}
		if tc.ended > 0 {
			want = append(want, audit.SessionEnded)
		}
		if !slices.Equal(f.Types(), want) || f.Ended(session.EndedByLimit) != tc.ended {
			t.Errorf("%+v: events %v ending %d", tc, f.Types(), f.Ended(session.EndedByLimit))
		} else if tc.ended > 0 && (f.Events[1].Actor.ID != l.User.ID || f.Events[1].Target.ID != l.User.ID) {
			t.Errorf("%+v: session.ended %+v, want by and on alice", tc, f.Events[1])
		}
	}
}

// No session is stored for an account that changed since the login read
// it, and nothing else happens.
func TestStartWhenAccountChanged(t *testing.T) {
	tests := []struct {
		why    string
		change func(f *fakeStore, l *Login)
	}{
		{"inactivated", func(f *fakeStore, _ *Login) { f.user.IsActive = false }},
		{"another password since the one verified", func(f *fakeStore, l *Login) {
			// The user is read again for the second step; the hash checked
			// at the first is no longer the user's.
			f.user.PasswordHash, l.User.PasswordHash = "hash:new", "hash:new"
		}},
	}
	for _, tc := range tests {
		f, l := setup(3)
		before := slices.Clone(f.sessions)
		tc.change(f, &l)
		s, secret, err := rules.Start(context.Background(), f, t0, l)
		if !errors.Is(err, ErrAccountChanged) || secret != "" || !reflect.DeepEqual(s, session.Session{}) {
			t.Errorf("%s: %+v, %q, %v; want ErrAccountChanged", tc.why, s, secret, err)
		}
		if !reflect.DeepEqual(f.sessions, before) || len(f.calls) != 1 || len(f.Events) != 0 {
			t.Errorf("%s: sessions %d, calls %q, events %v; want nothing changed", tc.why, len(f.sessions), f.calls, f.Types())
		}
	}
}

func TestStartStoreErrors(t *testing.T) {
	for _, fail := range []string{"insert", "keep 3", "event login.succeeded", "event session.ended"} {
		f, l := setup(3)
		f.fail = fail
		s, secret, err := rules.Start(context.Background(), f, t0, l)
		if !errors.Is(err, errBroken) || secret != "" || !reflect.DeepEqual(s, session.Session{}) {
			t.Errorf("%s failing: %+v, %q, %v; want the error and no session", fail, s, secret, err)
		}
	}
}

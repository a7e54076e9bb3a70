package enabletotp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/audit/audittest"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/auth/authtest"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/onetime/onetimetest"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/signin"
	"github.com/cleanslice/cleanslice/shared/user"
)

type fakeStore struct {
	audittest.Trail
	authtest.Attempts
	onetimetest.Outbox
	totp     map[uuid.UUID]mfa.TOTP
	codes    []mfa.StoredCode
	sessions []session.Session // the user's, all of them
}

func (f *fakeStore) DeleteUserSessions(context.Context, uuid.UUID) (int, error) {
	n := len(f.sessions)
	f.sessions = nil
	return n, nil
}

func (f *fakeStore) InsertSession(_ context.Context, s session.Session) error {
	f.sessions = append(f.sessions, s)
	return nil
}

func (f *fakeStore) TOTP(_ context.Context, id uuid.UUID) (mfa.TOTP, bool, error) {
	t, ok := f.totp[id]
	return t, ok, nil
}

func (f *fakeStore) Factors(_ context.Context, id uuid.UUID) (mfa.Factors, error) {
	return mfa.Factors{TOTPEnabledAt: f.totp[id].EnabledAt, RecoveryCodesLeft: len(f.codes)}, nil
}

func (f *fakeStore) EnableTOTP(_ context.Context, id uuid.UUID, sealed, resealed []byte, step int64, now time.Time) (bool, error) {
	t := f.totp[id]
	if string(t.Sealed) != string(sealed) || t.Enabled() {
		return false, nil
	}
	f.totp[id] = mfa.TOTP{Sealed: resealed, EnabledAt: now, LastStep: step}
	return true, nil
}

func (f *fakeStore) ReplaceRecoveryCodes(_ context.Context, _ uuid.UUID, codes []mfa.StoredCode, _ time.Time) error {
	f.codes = codes
	return nil
}

type fakeKeys struct{}

func (fakeKeys) Seal(_ uuid.UUID, s string) []byte { return []byte("new:" + s) }
func (fakeKeys) Open(_ uuid.UUID, b []byte) (string, bool, error) {
	k, s, _ := strings.Cut(string(b), ":")
	return s, k == "old", nil
}
func (fakeKeys) SealRecoveryCode(_ uuid.UUID, code string) mfa.StoredCode {
	return mfa.StoredCode{Digest: []byte("d:" + code)}
}

// fakeCodes: a step's code is the step's last six digits.
type fakeCodes struct{}

func (fakeCodes) MatchStep(_, code string, now time.Time) (int64, bool) {
	s := now.Unix() / 30
	return s, code == fmt.Sprintf("%06d", s%1_000_000)
}

var t0 = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

func TestEnable(t *testing.T) {
	alice := auth.Actor{User: user.User{ID: user.NewID(), Username: "alice"}, SessionID: []byte{1}, Methods: []string{mfa.MethodPassword}}
	// Two sessions: the caller's, and one on another device.
	store := &fakeStore{totp: map[uuid.UUID]mfa.TOTP{}, sessions: []session.Session{{UserID: alice.User.ID}, {UserID: alice.User.ID}}}
	guard := auth.Guard{PerUser: 3, PerIP: 50, Window: time.Hour, Key: []byte("k")}
	policy := session.Policy{TTL: time.Hour, RefreshRatio: 0.2, AbsoluteTTL: 24 * time.Hour}
	i := New(store, store, fakeKeys{}, fakeCodes{}, Config{Guard: guard, SignIn: signin.Rules{Policy: policy}}, func() time.Time { return t0 })
	ctx := context.Background()
	right := fmt.Sprintf("%06d", (t0.Unix()/30)%1_000_000)
	if _, err := i.Execute(ctx, alice, Input{Code: right}); !errors.Is(err, mfa.ErrNoTOTPSetup) {
		t.Fatalf("before setup: %v", err)
	}
	store.totp[alice.User.ID] = mfa.TOTP{Sealed: []byte("old:SECRET")}
	if _, err := i.Execute(ctx, alice, Input{Code: "000000"}); !errors.Is(err, mfa.ErrWrongEnableCode) {
		t.Fatalf("wrong code: %v", err)
	}
	if store.totp[alice.User.ID].Enabled() || store.Count(guard.UserKey("alice")) != 1 {
		t.Fatal("a wrong code changed something, or was not counted")
	}
	if len(store.Events) != 1 || store.Events[0].Type != audit.ReauthenticationFailed || store.Events[0].Details["action"] != Action {
		t.Fatalf("events %+v: a wrong code is recorded (reauthentication.failed, enable_totp)", store.Events)
	}
	res, err := i.Execute(ctx, alice, Input{Code: right})
	if err != nil || len(res.RecoveryCodes) != mfa.RecoveryCodes || len(store.codes) != mfa.RecoveryCodes {
		t.Fatalf("enable: %v, %d codes, %d stored", err, len(res.RecoveryCodes), len(store.codes))
	}
	n, _ := mfa.NormalizeRecoveryCode(res.RecoveryCodes[0])
	if string(store.codes[0].Digest) != "d:"+n {
		t.Fatalf("stored %q for %q: not its digest", store.codes[0], res.RecoveryCodes[0])
	}
	got := store.totp[alice.User.ID]
	if !got.Enabled() || got.LastStep != t0.Unix()/30 || string(got.Sealed) != "new:SECRET" {
		t.Fatalf("totp %+v: enabled, its step used, sealed under the current key", got)
	}
	if !slices.Equal(store.Types(), []audit.Type{audit.ReauthenticationFailed, audit.TOTPEnabled, audit.RecoveryCodesGenerated, audit.SessionEnded}) {
		t.Fatalf("events %v", store.Types())
	}
	// The first factor ends every session and re-issues the caller's at
	// aal 2, made with both factors.
	if ended := store.Ended(session.EndedByEnrollment); ended != 2 {
		t.Fatalf("%d sessions ended (mfa_enrolled), want 2", ended)
	}
	if !res.First() || len(store.sessions) != 1 || store.sessions[0].ID == nil || res.Session.AAL != mfa.AAL2 ||
		!slices.Equal(res.Session.Methods, []string{mfa.MethodPassword, mfa.MethodTOTP}) {
		t.Fatalf("new session %+v (stored %d): aal 2, password and totp", res.Session, len(store.sessions))
	}
	if n := store.Count(guard.UserKey("alice")); n != 1 {
		t.Fatalf("user window %d: the right code gives its attempt back, the wrong one stays", n)
	}
	if _, err := i.Execute(ctx, alice, Input{Code: right}); !errors.Is(err, mfa.ErrTOTPAlreadyEnabled) {
		t.Fatalf("again: %v", err)
	}
	// Guesses run into the login window.
	bob := auth.Actor{User: user.User{ID: user.NewID(), Username: "bob"}, SessionID: []byte{2}}
	store.totp[bob.User.ID] = mfa.TOTP{Sealed: []byte("new:B")}
	for k := range guard.PerUser {
		if _, err := i.Execute(ctx, bob, Input{Code: fmt.Sprintf("%06d", k)}); !errors.Is(err, mfa.ErrWrongEnableCode) {
			t.Fatalf("guess %d: %v", k, err)
		}
	}
	if _, err := i.Execute(ctx, bob, Input{Code: "000009"}); !errors.Is(err, auth.ErrTooManyAttempts(0)) {
		t.Fatalf("a guess past the window: %v", err)
	}
	if _, err := i.Execute(ctx, auth.Actor{}, Input{Code: right}); !errors.Is(err, auth.ErrNotAuthenticated) {
		t.Fatalf("anonymous: %v", err)
	}
}

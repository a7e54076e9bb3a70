package changepassword

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
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

// fakeStore records the calls made and whether they ran in a transaction.
type fakeStore struct {
	calls  []string
	inTx   bool
	fail   error
	stored string // the user's password hash
	audittest.Trail
	authtest.Attempts
	authtest.Sessions
	onetimetest.Outbox
}

func (f *fakeStore) WithinTx(ctx context.Context, fn func(ctx context.Context) error) error {
	f.inTx = true
	defer func() { f.inTx = false }()
	return f.Trail.WithinTx(ctx, fn)
}

func (f *fakeStore) record(call string) error {
	if !f.inTx {
		call += " (outside tx)"
	}
	f.calls = append(f.calls, call)
	return f.fail
}

func (f *fakeStore) ReplacePasswordHash(_ context.Context, _ uuid.UUID, old, hash string, _ time.Time) (bool, error) {
	if old != f.stored {
		return false, f.record("keep " + f.stored)
	}
	f.stored = hash
	return true, f.record("update " + hash)
}

// Factors: no second factor (the assurance rule is auth's, tested there).
func (f *fakeStore) Factors(context.Context, uuid.UUID) (mfa.Factors, error) {
	return mfa.Factors{}, nil
}

func (f *fakeStore) LockUserWithPassword(_ context.Context, _ uuid.UUID, hash string) (bool, error) {
	if hash != f.stored {
		return false, f.record("keep " + f.stored)
	}
	return true, nil
}
func (f *fakeStore) VoidRecoveryTokens(context.Context, uuid.UUID, time.Time) error { return nil }

func (f *fakeStore) DeleteUserSessions(context.Context, uuid.UUID) (int, error) {
	return 2, f.record("delete sessions")
}
func (f *fakeStore) InsertSession(context.Context, session.Session) error {
	return f.record("insert session")
}

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

var guard = auth.Guard{PerUser: 3, PerIP: 50, Window: 15 * time.Minute, Key: []byte("throttle key")}

func setup() (*Interactor, *fakeStore, auth.Actor) {
	f := &fakeStore{stored: "hash:old password"}
	policy := session.Policy{TTL: 15 * time.Minute, RefreshRatio: 0.2, AbsoluteTTL: time.Hour}
	actor := auth.Actor{User: user.User{ID: user.NewID(), Username: "alice", PasswordHash: "hash:old password"}, SessionID: []byte{1}}
	return New(f, &authtest.Hasher{}, &f.Outbox, signin.Rules{Policy: policy}, guard, 8, func() time.Time { return t0 }), f, actor
}

func TestChangePassword(t *testing.T) {
	i, f, actor := setup()
	res, err := i.Execute(context.Background(), actor, Input{CurrentPassword: "old password", NewPassword: "new password"})
	if err != nil {
		t.Fatal(err)
	}
	want := "update hash:new password|delete sessions|insert session"
	if got := strings.Join(f.calls, "|"); got != want {
		t.Fatalf("calls %q, want %q", got, want)
	}
	if got := f.Types(); len(got) != 2 || got[0] != audit.PasswordChanged || f.Ended(session.EndedByPassword) != 2 ||
		f.Events[0].Actor.ID != actor.User.ID || f.Events[0].Target.ID != actor.User.ID {
		t.Fatalf("events %+v, want user.password_changed and session.ended (password, 2) by alice", f.Events)
	}
	id, _ := session.IDFromSecret(res.Secret)
	if string(res.Session.ID) != string(id) || res.Session.UserID != actor.User.ID || string(res.Session.ID) == string(actor.SessionID) {
		t.Fatalf("new session %+v", res.Session)
	}
}

func TestChangePasswordRefusals(t *testing.T) {
	i, f, actor := setup()
	ctx := context.Background()
	if _, err := i.Execute(ctx, auth.Actor{}, Input{CurrentPassword: "old password", NewPassword: "new password"}); !errors.Is(err, auth.ErrNotAuthenticated) {
		t.Errorf("anonymous: %v", err)
	}
	_, err := i.Execute(ctx, actor, Input{CurrentPassword: "", NewPassword: "short"})
	if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindInvalid || len(e.Fields) != 2 {
		t.Errorf("invalid input: %v", err)
	}
	if len(f.calls) != 0 || len(f.Events) != 0 || len(f.Windows) != 0 {
		t.Fatalf("refused changes touched the store: %q, %+v, %v", f.calls, f.Events, f.Windows)
	}
}

// TestWrongCurrentPasswordIsThrottled: every wrong current password is
// recorded and counted in the login windows; once they are full even the
// right one is 429, unverified.
func TestWrongCurrentPasswordIsThrottled(t *testing.T) {
	i, f, actor := setup()
	ctx := context.Background()
	in := Input{CurrentPassword: "wrong password", NewPassword: "new password", ClientIP: "192.0.2.1"}
	for n := range guard.PerUser {
		if _, err := i.Execute(ctx, actor, in); !errors.Is(err, auth.ErrWrongPassword) {
			t.Fatalf("wrong current password %d: %v", n+1, err)
		}
	}
	if got := f.Types(); len(got) != guard.PerUser || got[0] != audit.ReauthenticationFailed ||
		f.Events[0].Details["action"] != "change_password" || f.Events[0].Actor.ID != actor.User.ID || f.Events[0].Target.ID != actor.User.ID {
		t.Fatalf("events %+v", f.Events)
	}
	in.CurrentPassword = "old password"
	_, err := i.Execute(ctx, actor, in)
	if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindTooManyRequests || e.RetryAfter != guard.Window {
		t.Fatalf("right password in a full window: %v", err)
	}
	if len(f.calls) != 0 || f.stored != "hash:old password" {
		t.Fatalf("a throttled change changed something: %q", f.calls)
	}
}

// TestPasswordChangedMeanwhile: a reset between the check and the
// transaction wins; the change stores nothing.
func TestPasswordChangedMeanwhile(t *testing.T) {
	i, f, actor := setup()
	f.stored = "hash:set by an admin"
	_, err := i.Execute(context.Background(), actor, Input{CurrentPassword: "old password", NewPassword: "new password"})
	if !errors.Is(err, auth.ErrWrongPassword) || f.stored != "hash:set by an admin" || len(f.Events) != 0 {
		t.Fatalf("err = %v, stored %q, events %+v", err, f.stored, f.Events)
	}
	if got := strings.Join(f.calls, "|"); got != "keep hash:set by an admin" {
		t.Fatalf("calls %q", got)
	}
}

func TestStoreFailureIsReturned(t *testing.T) {
	i, f, actor := setup()
	f.fail = errors.New("disk full")
	if _, err := i.Execute(context.Background(), actor, Input{CurrentPassword: "old password", NewPassword: "new password"}); !errors.Is(err, f.fail) {
		t.Fatalf("err = %v", err)
	}
	if len(f.Events) != 0 {
		t.Fatalf("a failed change kept its events: %+v", f.Events)
	}
}

// TestNoticeToVerifiedAddress: a change of a user with a verified address
// queues the notice to it in the change's transaction; none without one.
func TestNoticeToVerifiedAddress(t *testing.T) {
	i, f, actor := setup()
	actor.User.Email, actor.User.EmailVerifiedAt = "alice@example.com", t0
	if _, err := i.Execute(context.Background(), actor, Input{CurrentPassword: "old password", NewPassword: "new password"}); err != nil {
		t.Fatal(err)
	}
	if len(f.Messages) != 1 || f.Messages[0].Template != "password_changed" || f.Messages[0].To != "alice@example.com" || f.Messages[0].Fields["how"] != "by you" {
		t.Fatalf("messages %+v", f.Messages)
	}
	i, f, actor = setup()
	actor.User.Email = "unverified@example.com"
	if _, err := i.Execute(context.Background(), actor, Input{CurrentPassword: "old password", NewPassword: "new password"}); err != nil || len(f.Messages) != 0 {
		t.Fatalf("an unverified address got %+v (%v)", f.Messages, err)
	}
}

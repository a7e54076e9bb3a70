package authenticate

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
)

// hasher "hashes" a secret as a generation byte, the id and the secret;
// generation 0 is current, 1 a previous key. It counts its work.
type hasher struct{ matches int }

func (h *hasher) HashAPIKey(id uuid.UUID, secret []byte) []byte {
	return append(append([]byte{0}, id.Bytes()...), secret...)
}

func (h *hasher) MatchAPIKey(id uuid.UUID, secret, hash []byte) (bool, bool) {
	h.matches++
	if len(hash) == 0 {
		return false, false
	}
	return bytes.Equal(hash[1:], append(id.Bytes(), secret...)), hash[0] == 1
}

// withKey stores a key of alice (role, active), of scope, made at t0 for
// a day, and returns the key as the client holds it.
func withKey(active bool, role user.Role, scope apikey.Scope) (*fakeStore, string, *time.Time, *Interactor, *hasher) {
	f, _, now, i := setupAs(active, role, nil)
	h := i.keys.(*hasher)
	var alice uuid.UUID
	for id := range f.users {
		alice = id
	}
	k, key := apikey.Issue(h.HashAPIKey, alice, "ci", scope, t0, 24*time.Hour)
	f.keys[k.ID] = k
	return f, key, now, i, h
}

const ip = "192.0.2.7"

// TestKeyActsAsItsUser: a key authenticates its user, as the store has
// them now (a changed role at once), with its id and scope, in one read;
// its use is written the first time and then once a minute at most.
func TestKeyActsAsItsUser(t *testing.T) {
	f, key, now, i, _ := withKey(true, user.RoleAdmin, apikey.ScopeRead)
	id, _, _ := apikey.Parse(key)
	*now = t0.Add(time.Hour)
	res, err := i.ExecuteKey(context.Background(), key, ip, nil)
	if err != nil || !res.Actor.Authenticated() || !res.Actor.ViaKey() || res.Actor.APIKey != id || res.Actor.User.Role != user.RoleAdmin ||
		res.Scope != apikey.ScopeRead || res.Actor.SessionID != nil || res.Renewed {
		t.Fatalf("ExecuteKey = %+v, %v", res, err)
	}
	if f.keyReads != 1 || len(f.uses) != 1 || f.uses[0].ip != ip || !f.uses[0].at.Equal(*now) || f.uses[0].rehash != nil {
		t.Fatalf("%d reads, uses %+v", f.keyReads, f.uses)
	}
	// Demoted: the next request has the new role.
	u := f.users[res.Actor.User.ID]
	u.Role = user.RoleUser
	f.users[u.ID] = u
	*now = now.Add(59 * time.Second)
	if res, err = i.ExecuteKey(context.Background(), key, ip, nil); err != nil || res.Actor.User.Role != user.RoleUser {
		t.Fatalf("after the demotion: %+v, %v", res.Actor.User, err)
	}
	if f.keyReads != 2 || len(f.uses) != 1 {
		t.Fatalf("within the minute: %d reads, %d uses written", f.keyReads, len(f.uses))
	}
	*now = now.Add(time.Second)
	if _, err = i.ExecuteKey(context.Background(), key, ip, nil); err != nil || len(f.uses) != 2 {
		t.Fatalf("a minute on: %v, %d uses written", err, len(f.uses))
	}
	if len(f.Windows) != 0 {
		t.Fatalf("a good key was counted: %+v", f.Windows)
	}
}

// TestKeyHashedAgain: a key whose hash was made with a previous mfa key
// gets one made with the current key, with its next written use.
func TestKeyHashedAgain(t *testing.T) {
	f, key, _, i, h := withKey(true, user.RoleUser, apikey.ScopeFull)
	id, secret, _ := apikey.Parse(key)
	k := f.keys[id]
	k.Hash[0] = 1
	f.keys[id] = k
	if _, err := i.ExecuteKey(context.Background(), key, ip, nil); err != nil {
		t.Fatal(err)
	}
	if len(f.uses) != 1 || !bytes.Equal(f.uses[0].rehash, h.HashAPIKey(id, secret)) {
		t.Fatalf("uses %+v: the hash was not made again", f.uses)
	}
}

// TestRefusedKeys: a malformed key, an unknown one, a wrong secret, an
// expired key and an inactive user's all get the one refusal, each
// counted in the client's window; a malformed key costs no query, and an
// unknown key costs exactly what a wrong secret costs (one read, one
// hash).
func TestRefusedKeys(t *testing.T) {
	unknown, _, _ := apikey.Generate()
	for _, c := range []struct {
		name           string
		present        func(key string) string
		change         func(f *fakeStore, now *time.Time)
		reads, matches int
	}{
		{"malformed", func(key string) string { // its last character changed: the checksum fails
			last := "x"
			if key[apikey.Len-1] == 'x' {
				last = "y"
			}
			return key[:apikey.Len-1] + last
		}, nil, 0, 0},
		{"unknown", func(string) string { return unknown }, nil, 1, 1},
		{"a wrong secret", nil, func(f *fakeStore, _ *time.Time) {
			for id, k := range f.keys {
				k.Hash = (&hasher{}).HashAPIKey(id, bytes.Repeat([]byte{1}, apikey.SecretBytes))
				f.keys[id] = k
			}
		}, 1, 1},
		{"expired", nil, func(_ *fakeStore, now *time.Time) { *now = t0.Add(24 * time.Hour) }, 1, 1},
		{"an inactive user's", nil, func(f *fakeStore, _ *time.Time) {
			for id, u := range f.users {
				u.IsActive = false
				f.users[id] = u
			}
		}, 1, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, key, now, i, h := withKey(true, user.RoleUser, apikey.ScopeFull)
			if c.present != nil {
				key = c.present(key)
			}
			if c.change != nil {
				c.change(f, now)
			}
			_, err := i.ExecuteKey(context.Background(), key, ip, nil)
			if !errors.Is(err, apikey.ErrRefused) {
				t.Fatalf("ExecuteKey = %v, want the refusal", err)
			}
			if f.keyReads != c.reads || h.matches != c.matches || len(f.uses) != 0 {
				t.Fatalf("%d reads, %d hashes, %d uses; want %d, %d, 0", f.keyReads, h.matches, len(f.uses), c.reads, c.matches)
			}
			if f.Count(guard.ClientLimit(ip).Key) != 1 {
				t.Fatalf("windows %+v: the refusal is not counted for the client", f.Windows)
			}
		})
	}
}

// TestRefusalsThrottled: past the client's window, a refused key gets
// 429, with Retry-After; a good key is never refused for it.
func TestRefusalsThrottled(t *testing.T) {
	_, key, _, i, _ := withKey(true, user.RoleUser, apikey.ScopeFull)
	bad, _, _ := apikey.Generate()
	for n := range guard.PerIP {
		if _, err := i.ExecuteKey(context.Background(), bad, ip, nil); !errors.Is(err, apikey.ErrRefused) {
			t.Fatalf("refusal %d: %v", n+1, err)
		}
	}
	_, err := i.ExecuteKey(context.Background(), bad, ip, nil)
	if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindTooManyRequests || e.RetryAfter <= 0 {
		t.Fatalf("past the window: %v", err)
	}
	if _, err := i.ExecuteKey(context.Background(), bad, "192.0.2.8", nil); !errors.Is(err, apikey.ErrRefused) {
		t.Fatalf("another client: %v", err)
	}
	if _, err := i.ExecuteKey(context.Background(), key, ip, nil); err != nil {
		t.Fatalf("the good key from the throttled client: %v", err)
	}
}

// TestInactiveUsersKeysRevoked: a key of a user found inactive (made so
// some other way than inactivation) is refused, and every key of the user
// goes, recorded by nobody with the client's source.
func TestInactiveUsersKeysRevoked(t *testing.T) {
	f, key, _, i, h := withKey(false, user.RoleUser, apikey.ScopeFull)
	var alice uuid.UUID
	for id := range f.users {
		alice = id
	}
	k2, _ := apikey.Issue(h.HashAPIKey, alice, "other", apikey.ScopeRead, t0, time.Hour)
	f.keys[k2.ID] = k2
	src := func() audit.Source { return audit.Source{IP: ip, RequestID: "r-1"} }
	if _, err := i.ExecuteKey(context.Background(), key, ip, src); !errors.Is(err, apikey.ErrRefused) {
		t.Fatalf("an inactive user's key: %v", err)
	}
	if len(f.keys) != 0 || len(f.events) != 1 {
		t.Fatalf("%d keys left, events %+v", len(f.keys), f.events)
	}
	e := f.events[0]
	if e.Type != audit.APIKeyRevoked || !e.Actor.ID.IsNil() || e.Target.ID != alice || e.Details["reason"] != "inactivation" || e.Details["revoked"] != 2 || e.IP != ip {
		t.Fatalf("event %+v", e)
	}
}

func TestKeyStoreFailureIsNotA401(t *testing.T) {
	f, key, _, i, _ := withKey(true, user.RoleUser, apikey.ScopeFull)
	f.fail = errors.New("connection refused")
	if _, err := i.ExecuteKey(context.Background(), key, ip, nil); err == nil || errors.Is(err, apikey.ErrRefused) || errors.Is(err, auth.ErrNotAuthenticated) {
		t.Fatalf("a database fault became %v", err)
	}
	if len(f.Windows) != 0 {
		t.Fatal("a fault was counted as a refusal")
	}
}

// TestKeyOfUserWhoMustEnroll: a key of a user whose role requires a
// second factor they lack says so, as a session does.
func TestKeyOfUserWhoMustEnroll(t *testing.T) {
	f, _, now, _ := setupAs(true, user.RoleAdmin, nil)
	i := New(f, &hasher{}, Config{Policy: policy, Enroll: []user.Role{user.RoleAdmin}, Guard: guard}, func() time.Time { return *now })
	var alice uuid.UUID
	for id := range f.users {
		alice = id
	}
	k, key := apikey.Issue(i.keys.HashAPIKey, alice, "ci", apikey.ScopeFull, t0, time.Hour)
	f.keys[k.ID] = k
	res, err := i.ExecuteKey(context.Background(), key, ip, nil)
	if err != nil || !res.MustEnroll {
		t.Fatalf("ExecuteKey = %+v, %v", res, err)
	}
	u := f.users[alice]
	u.SecondFactor = true
	f.users[alice] = u
	if res, err := i.ExecuteKey(context.Background(), key, ip, nil); err != nil || res.MustEnroll {
		t.Fatalf("with a second factor: %+v, %v", res, err)
	}
}

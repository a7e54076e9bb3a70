package apikey

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/audit/audittest"
)

// TestFormat: a key is the marker and base62, of a fixed length, its id
// and secret come back from Parse, and no two keys share an id or a
// prefix.
func TestFormat(t *testing.T) {
	shape := regexp.MustCompile(`^cs_[0-9A-Za-z]{71}$`)
	prefixes := map[string]bool{}
	for range 200 {
		key, id, secret := Generate()
		if !shape.MatchString(key) || len(key) != Len {
			t.Fatalf("key %q: not cs_ and 71 base62 characters", key)
		}
		if len(secret) != SecretBytes || bytes.Equal(secret, make([]byte, SecretBytes)) {
			t.Fatalf("secret %x", secret)
		}
		gotID, gotSecret, err := Parse(key)
		if err != nil || gotID != id || !bytes.Equal(gotSecret, secret) {
			t.Fatalf("Parse(%q) = %v, %x, %v; want %v, %x", key, gotID, gotSecret, err, id, secret)
		}
		if p := Prefix(id); p != key[:PrefixLen] || prefixes[p] {
			t.Fatalf("prefix %q of %q: not its start, or seen before", p, key)
		}
		prefixes[Prefix(id)] = true
	}
}

// TestTyposAreMalformed: a mistyped, cut, padded or foreign key fails
// Parse (which runs no query) with ErrMalformed, whatever part the typo is
// in: the checksum covers the id and the secret.
func TestTyposAreMalformed(t *testing.T) {
	key, _, _ := Generate()
	swap := func(k string, at int) string {
		b := []byte(k)
		b[at], b[at+1] = b[at+1], b[at]
		return string(b)
	}
	change := func(k string, at int) string {
		b := []byte(k)
		if b[at] == 'a' {
			b[at] = 'b'
		} else {
			b[at] = 'a'
		}
		return string(b)
	}
	idAt, secretAt, checkAt := len(Marker)+3, len(Marker)+idLen+10, Len-2
	cases := map[string]string{
		"empty":                          "",
		"the marker alone":               Marker,
		"a character changed in the id":  change(key, idAt),
		"a character changed in secret":  change(key, secretAt),
		"a character changed in the sum": change(key, checkAt),
		"the last character changed":     change(key, Len-1),
		"a character cut":                key[:Len-1],
		"a character added":              key + "a",
		"a character cut, one added":     key[:20] + key[21:] + "a",
		"another marker":                 "ck_" + key[3:],
		"the marker in capitals":         "CS_" + key[3:],
		"a space inside":                 key[:30] + " " + key[31:],
		"a non-base62 character":         key[:30] + "-" + key[31:],
		"a multibyte character":          key[:30] + "é" + key[32:],
		"surrounding space":              " " + key[:Len-1],
		"the checksum of another key":    key[:Len-checkLen] + "000000",
	}
	// Two neighbours swapped, in each part (unless they are the same).
	for _, at := range []int{idAt, secretAt, checkAt - 1, len(Marker) + idLen - 1} {
		if key[at] != key[at+1] {
			cases["swapped at "+string(rune('0'+at%10))+key[at:at+2]] = swap(key, at)
		}
	}
	for name, k := range cases {
		if _, _, err := Parse(k); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s (%q): %v, want ErrMalformed", name, k, err)
		}
	}
	// A well-formed body whose id part is over 2^128: base62 has room for
	// it, a UUID has not.
	body := Marker + strings.Repeat("z", idLen) + key[len(Marker)+idLen:Len-checkLen]
	if _, _, err := Parse(body + encode(checksum(body), checkLen)); !errors.Is(err, ErrMalformed) {
		t.Errorf("an id part over 128 bits: %v", err)
	}
	if _, _, err := Parse(key); err != nil {
		t.Fatalf("the key itself: %v", err)
	}
}

func TestScope(t *testing.T) {
	for _, c := range []struct {
		scope  Scope
		method string
		allows bool
	}{
		{ScopeRead, http.MethodGet, true},
		{ScopeRead, http.MethodHead, true},
		{ScopeRead, http.MethodOptions, true},
		{ScopeRead, http.MethodPost, false},
		{ScopeRead, http.MethodPut, false},
		{ScopeRead, http.MethodPatch, false},
		{ScopeRead, http.MethodDelete, false},
		{ScopeFull, http.MethodGet, true},
		{ScopeFull, http.MethodDelete, true},
		{ScopeFull, http.MethodPatch, true},
		{Scope("admin"), http.MethodGet, false},
		{Scope(""), http.MethodGet, false},
	} {
		if got := c.scope.Allows(c.method); got != c.allows {
			t.Errorf("%q.Allows(%s) = %v", c.scope, c.method, got)
		}
	}
	if !ScopeRead.Valid() || !ScopeFull.Valid() || Scope("write").Valid() || Scope("").Valid() {
		t.Fatal("Valid")
	}
}

func TestCheckName(t *testing.T) {
	for name, ok := range map[string]bool{
		"ci":                            true,
		"deploy (prod) — nightly":       true,
		strings.Repeat("é", 64):         true,
		strings.Repeat("é", 65):         false,
		"":                              false,
		"   ":                           false,
		"tab\there":                     false,
		"bell\a":                        false,
		"bad \xff utf-8":                false,
		"deploy\u202eyalp":              false, // reads "deployplay" backwards
		"zero\u200bwidth":               false,
		"\U0001F468\u200d\U0001F4BB ci": true, // an emoji sequence's joiner
	} {
		if err := CheckName(name); (err == nil) != ok {
			t.Errorf("CheckName(%q) = %v", name, err)
		}
	}
}

// TestUseDue: a use is written the first time and then at most once per
// UseInterval.
func TestUseDue(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	k := Key{}
	if !k.UseDue(t0) {
		t.Fatal("a key never used: the first use is not due")
	}
	k.LastUsedAt = t0
	if k.UseDue(t0.Add(UseInterval - time.Microsecond)) {
		t.Fatal("due within a minute of the last written use")
	}
	if !k.UseDue(t0.Add(UseInterval)) {
		t.Fatal("not due a minute after")
	}
	k.ExpiresAt = t0.Add(time.Hour)
	if k.Expired(t0.Add(time.Hour-time.Microsecond)) || !k.Expired(t0.Add(time.Hour)) {
		t.Fatal("Expired")
	}
}

// hasher "hashes" a secret as its id and the secret.
type hasher struct{}

func (hasher) HashAPIKey(id uuid.UUID, secret []byte) []byte { return append(id.Bytes(), secret...) }
func (hasher) MatchAPIKey(id uuid.UUID, secret, hash []byte) (bool, bool) {
	return bytes.Equal(hash, append(id.Bytes(), secret...)), false
}

// TestIssue: the stored key holds the hasher's hash of the secret, never
// the key, and is valid for its lifetime from now (to the microsecond).
func TestIssue(t *testing.T) {
	now := time.Date(2026, 5, 1, 10, 0, 0, 123456789, time.UTC)
	alice := uuid.Must(uuid.NewV7())
	k, key := Issue(hasher{}.HashAPIKey, alice, "ci", ScopeRead, now, time.Hour)
	id, secret, err := Parse(key)
	if err != nil || id != k.ID || k.UserID != alice || k.Name != "ci" || k.Scope != ScopeRead {
		t.Fatalf("Issue = %+v, %q, %v", k, key, err)
	}
	if ok, _ := (hasher{}).MatchAPIKey(id, secret, k.Hash); !ok {
		t.Fatal("the stored hash is not the hasher's of the secret")
	}
	if !k.CreatedAt.Equal(now.Truncate(time.Microsecond)) || !k.ExpiresAt.Equal(now.Add(time.Hour).Truncate(time.Microsecond)) {
		t.Fatalf("times %v %v", k.CreatedAt, k.ExpiresAt)
	}
	if k.Prefix() != key[:PrefixLen] {
		t.Fatalf("prefix %q of %q", k.Prefix(), key)
	}
}

type revokeStore struct {
	audittest.Trail
	keys map[uuid.UUID]int
}

func (s *revokeStore) DeleteUserAPIKeys(_ context.Context, userID uuid.UUID) (int, error) {
	n := s.keys[userID]
	delete(s.keys, userID)
	return n, nil
}

// TestRevokeAll: every key of the user goes, with one event that says
// why and how many; a user without keys records nothing.
func TestRevokeAll(t *testing.T) {
	alice, admin := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	s := &revokeStore{keys: map[uuid.UUID]int{alice: 3}}
	ctx := audit.WithAPIKey(context.Background(), uuid.Must(uuid.NewV4()))
	n, err := RevokeAll(ctx, s, time.Now(), admin, alice, RevokedByMFAReset)
	if err != nil || n != 3 || len(s.keys) != 0 {
		t.Fatalf("RevokeAll = %d, %v", n, err)
	}
	if len(s.Events) != 1 {
		t.Fatalf("events %+v", s.Events)
	}
	e := s.Events[0]
	if e.Type != audit.APIKeyRevoked || e.Actor.ID != admin || e.Target.ID != alice || e.Details["reason"] != "mfa_reset" || e.Details["revoked"] != 3 {
		t.Fatalf("event %+v", e)
	}
	if _, ok := e.Details["key"]; ok {
		t.Fatalf("details.key on a revocation of every key: %+v", e.Details)
	}
	if e.Details["api_key"] != audit.APIKeyFrom(ctx).String() {
		t.Fatalf("an event of a request made with a key does not name it: %+v", e.Details)
	}
	if n, err := RevokeAll(context.Background(), s, time.Now(), admin, alice, RevokedByMFAReset); err != nil || n != 0 || len(s.Events) != 1 {
		t.Fatalf("again: %d, %v, %d events", n, err, len(s.Events))
	}
}

package mfakeys

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/gofrs/uuid/v5"
)

func TestSealAndOpen(t *testing.T) {
	alice, bob := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	old := New("old key", nil)
	sealed := old.Seal(alice, "JBSWY3DPEHPK3PXP")
	if bytes.Contains(sealed, []byte("JBSWY3DPEHPK3PXP")) || bytes.Equal(sealed, old.Seal(alice, "JBSWY3DPEHPK3PXP")) {
		t.Fatal("sealing shows the secret, or is not randomized")
	}
	if s, stale, err := old.Open(alice, sealed); err != nil || stale || s != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("open: %q %v %v", s, stale, err)
	}
	if _, _, err := old.Open(bob, sealed); !errors.Is(err, ErrUnopenable) {
		t.Fatalf("another user's row opened: %v", err)
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	if _, _, err := old.Open(alice, tampered); !errors.Is(err, ErrUnopenable) {
		t.Fatalf("a tampered secret opened: %v", err)
	}
	rotated := New("new key", []string{"old key"})
	if s, stale, err := rotated.Open(alice, sealed); err != nil || !stale || s != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("open with a previous key: %q %v %v", s, stale, err)
	}
	if _, stale, err := rotated.Open(alice, rotated.Seal(alice, "x")); err != nil || stale {
		t.Fatalf("current key: stale %v, %v", stale, err)
	}
	if _, _, err := New("new key", nil).Open(alice, sealed); !errors.Is(err, ErrUnopenable) {
		t.Fatalf("opened without its key: %v", err)
	}
	for _, short := range [][]byte{nil, sealed[:4], sealed[:12]} {
		if _, _, err := old.Open(alice, short); !errors.Is(err, ErrUnopenable) {
			t.Fatalf("%x opened: %v", short, err)
		}
	}
}

func TestRecoveryCodes(t *testing.T) {
	alice, bob := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	old, rotated := New("old key", nil), New("new key", []string{"old key"})
	stored := old.SealRecoveryCode(alice, "k7m2qx9rtz")
	ds := rotated.RecoveryDigests("k7m2qx9rtz")
	if len(ds) != 2 || !bytes.Equal(ds[1], stored.Digest) || !bytes.Equal(ds[0], rotated.SealRecoveryCode(alice, "k7m2qx9rtz").Digest) {
		t.Fatal("digests are not one per generation, current first")
	}
	if bytes.Equal(ds[0], ds[1]) || bytes.Equal(stored.Digest, old.SealRecoveryCode(alice, "k7m2qx9rtx").Digest) {
		t.Fatal("digests do not depend on the key and the code")
	}
	if bytes.Contains(stored.Sealed, []byte("k7m2qx9rtz")) || bytes.Equal(stored.Sealed, old.SealRecoveryCode(alice, "k7m2qx9rtz").Sealed) {
		t.Fatal("sealing shows the code, or is not randomized")
	}
	if c, stale, err := rotated.OpenRecoveryCode(alice, stored.Sealed); err != nil || !stale || c != "k7m2qx9rtz" {
		t.Fatalf("open under a previous key: %q %v %v", c, stale, err)
	}
	if _, _, err := rotated.OpenRecoveryCode(bob, stored.Sealed); !errors.Is(err, ErrUnopenable) {
		t.Fatalf("another user's code opened: %v", err)
	}
	if _, _, err := New("new key", nil).OpenRecoveryCode(alice, stored.Sealed); !errors.Is(err, ErrUnopenable) {
		t.Fatalf("opened without its key: %v", err)
	}
	// A recovery code's seal is no TOTP secret's, and the other way round.
	if _, _, err := old.Open(alice, stored.Sealed); !errors.Is(err, ErrUnopenable) {
		t.Fatalf("a code opened as a TOTP secret: %v", err)
	}
	if _, _, err := old.OpenRecoveryCode(alice, old.Seal(alice, "k7m2qx9rtz")); !errors.Is(err, ErrUnopenable) {
		t.Fatalf("a TOTP secret opened as a code: %v", err)
	}

	moved, err := rotated.ResealRecoveryCode(alice, stored.Sealed)
	if err != nil || !bytes.Equal(moved.Digest, ds[0]) {
		t.Fatalf("re-sealed: digest %x (want the current key's %x), %v", moved.Digest, ds[0], err)
	}
	if id := rotated.IDs()[0]; !bytes.Equal(moved.Sealed[:KeyIDLen], id[:]) {
		t.Fatalf("re-sealed under %x, not the current key", moved.Sealed[:KeyIDLen])
	}
	if c, stale, err := New("new key", nil).OpenRecoveryCode(alice, moved.Sealed); err != nil || stale || c != "k7m2qx9rtz" {
		t.Fatalf("the re-sealed code without the old key: %q %v %v", c, stale, err)
	}
	if _, err := New("new key", nil).ResealRecoveryCode(alice, stored.Sealed); !errors.Is(err, ErrUnopenable) {
		t.Fatalf("re-sealed without its key: %v", err)
	}
}

func TestReseal(t *testing.T) {
	alice := uuid.Must(uuid.NewV7())
	sealed := New("old key", nil).Seal(alice, "JBSWY3DPEHPK3PXP")
	rotated := New("new key", []string{"old key"})
	moved, err := rotated.Reseal(alice, sealed)
	if err != nil {
		t.Fatal(err)
	}
	if s, stale, err := New("new key", nil).Open(alice, moved); err != nil || stale || s != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("the re-sealed secret without the old key: %q %v %v", s, stale, err)
	}
	if _, err := New("new key", nil).Reseal(alice, sealed); !errors.Is(err, ErrUnopenable) {
		t.Fatalf("re-sealed without its key: %v", err)
	}
}

func TestKeyIDs(t *testing.T) {
	alice := uuid.Must(uuid.NewV7())
	old, other := New("old key", nil), New("other key", nil)
	rotated := New("new key", []string{"old key"})
	ids := rotated.IDs()
	if len(ids) != 2 || ids[1] != old.IDs()[0] || ids[0] == ids[1] || ids[0] == other.IDs()[0] {
		t.Fatalf("ids %v: not one per generation, current first, distinct", ids)
	}
	// Everything sealed starts with its key's id.
	if id := rotated.Seal(alice, "s")[:KeyIDLen]; !bytes.Equal(id, ids[0][:]) {
		t.Fatalf("a secret sealed under the current key names %x", id)
	}
	if id := old.Seal(alice, "s")[:KeyIDLen]; !bytes.Equal(id, ids[1][:]) {
		t.Fatalf("a secret sealed under the old key names %x", id)
	}
	if id := old.SealRecoveryCode(alice, "c").Sealed[:KeyIDLen]; !bytes.Equal(id, ids[1][:]) {
		t.Fatalf("a code sealed under the old key names %x", id)
	}
	if s := ids[0].String(); len(s) != 16 || strings.Trim(s, "0123456789abcdef") != "" {
		t.Fatalf("id %q: not 16 hex digits", s)
	}
}

// TestAPIKeys: what is stored of a key's secret is its HMAC under the
// current key, bound to the key's id; it matches under a previous key
// (stale, to be made again), never under a key no longer configured, and
// nil (an unknown key) matches nothing.
func TestAPIKeys(t *testing.T) {
	id, other := uuid.Must(uuid.NewV4()), uuid.Must(uuid.NewV4())
	secret := bytes.Repeat([]byte{7}, 32)
	old, rotated := New("old key", nil), New("new key", []string{"old key"})
	h := old.HashAPIKey(id, secret)
	if len(h) != APIKeyHashLen || !bytes.Equal(h[:KeyIDLen], old.IDs()[0][:]) || bytes.Contains(h, secret) {
		t.Fatalf("hash %x: not the key id and a MAC", h)
	}
	if !bytes.Equal(h, old.HashAPIKey(id, secret)) || bytes.Equal(h, old.HashAPIKey(other, secret)) {
		t.Fatal("the hash is not a function of the id and the secret")
	}
	for _, c := range []struct {
		name      string
		keys      *Keys
		id        uuid.UUID
		secret    []byte
		hash      []byte
		ok, stale bool
	}{
		{"its key", old, id, secret, h, true, false},
		{"a previous key", rotated, id, secret, h, true, true},
		{"the current key after a rotation", rotated, id, secret, rotated.HashAPIKey(id, secret), true, false},
		{"a key no longer configured", New("new key", nil), id, secret, h, false, false},
		{"another secret", old, id, bytes.Repeat([]byte{8}, 32), h, false, false},
		{"another key's id", old, other, secret, h, false, false},
		{"no hash (an unknown key)", old, id, secret, nil, false, false},
		{"a cut hash", old, id, secret, h[:APIKeyHashLen-1], false, false},
	} {
		if ok, stale := c.keys.MatchAPIKey(c.id, c.secret, c.hash); ok != c.ok || stale != c.stale {
			t.Errorf("%s: ok %v stale %v, want %v %v", c.name, ok, stale, c.ok, c.stale)
		}
	}
}

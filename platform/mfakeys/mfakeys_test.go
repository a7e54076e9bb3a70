package mfakeys

import (
	"bytes"
	"errors"
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

func TestRecoveryDigests(t *testing.T) {
	old, rotated := New("old key", nil), New("new key", []string{"old key"})
	ds := rotated.RecoveryDigests("k7m2qx9rtz")
	if len(ds) != 2 || !bytes.Equal(ds[0], rotated.RecoveryDigest("k7m2qx9rtz")) || !bytes.Equal(ds[1], old.RecoveryDigest("k7m2qx9rtz")) {
		t.Fatal("digests are not one per generation, current first")
	}
	if bytes.Equal(ds[0], ds[1]) || bytes.Equal(old.RecoveryDigest("k7m2qx9rtz"), old.RecoveryDigest("k7m2qx9rtx")) {
		t.Fatal("digests do not depend on the key and the code")
	}
}

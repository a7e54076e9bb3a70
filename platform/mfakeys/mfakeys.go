// Package mfakeys keeps second factors' secrets unreadable in the
// database: TOTP secrets sealed with AES-256-GCM, recovery codes reduced to
// keyed hashes (HMAC-SHA256), both under the mfa.encryption_key
// generations. The current key seals and hashes; previous keys still open
// and match, so a rotation locks nobody out: a secret opened with an old
// key is reported stale (to be sealed again), and a recovery code is
// matched under every generation.
//
// Keys are derived from the configured strings (SHA-256 with a label per
// use), so the AES key and the HMAC key are never the same bytes.
package mfakeys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"

	"github.com/gofrs/uuid/v5"
)

// Keys are the generations of mfa.encryption_key.
type Keys struct {
	current generation
	all     []generation // current first
}

type generation struct {
	id   [keyIDLen]byte
	aead cipher.AEAD
	hmac []byte
}

// keyIDLen is the size of the key id every sealed secret starts with.
const keyIDLen = 8

// New returns the keys: current seals, previous only open.
func New(current string, previous []string) *Keys {
	k := &Keys{}
	for _, s := range append([]string{current}, previous...) {
		k.all = append(k.all, derive(s))
	}
	k.current = k.all[0]
	return k
}

func derive(secret string) generation {
	sum := func(label string) []byte {
		h := sha256.Sum256([]byte("cleanslice mfa " + label + "\x00" + secret))
		return h[:]
	}
	block, _ := aes.NewCipher(sum("aes-256-gcm")) // a 32-byte key never fails
	aead, _ := cipher.NewGCM(block)
	g := generation{aead: aead, hmac: sum("recovery codes")}
	copy(g.id[:], sum("key id"))
	return g
}

// Seal encrypts a user's TOTP secret: the key id, a random nonce, and the
// ciphertext with its tag. The user's id is authenticated with it, so a
// sealed secret copied to another user's row does not open.
func (k *Keys) Seal(userID uuid.UUID, secret string) []byte {
	g := k.current
	out := make([]byte, keyIDLen, keyIDLen+g.aead.NonceSize()+len(secret)+g.aead.Overhead())
	copy(out, g.id[:])
	nonce := make([]byte, g.aead.NonceSize())
	rand.Read(nonce)
	out = append(out, nonce...)
	return g.aead.Seal(out, nonce, []byte(secret), userID.Bytes())
}

// ErrUnopenable is returned for a sealed secret that no configured key
// opens: sealed under a key since removed from the configuration, or
// altered.
var ErrUnopenable = errors.New("the sealed secret opens with no configured mfa key")

// Open decrypts what Seal made for userID, and reports whether it was
// sealed with a previous key (it should be sealed again with the current
// one).
func (k *Keys) Open(userID uuid.UUID, sealed []byte) (secret string, stale bool, err error) {
	for n, g := range k.all {
		if len(sealed) < keyIDLen+g.aead.NonceSize() || !hmac.Equal(sealed[:keyIDLen], g.id[:]) {
			continue
		}
		nonce := sealed[keyIDLen : keyIDLen+g.aead.NonceSize()]
		plain, err := g.aead.Open(nil, nonce, sealed[keyIDLen+g.aead.NonceSize():], userID.Bytes())
		if err != nil {
			return "", false, ErrUnopenable
		}
		return string(plain), n > 0, nil
	}
	return "", false, ErrUnopenable
}

// RecoveryDigest is what is stored of a (normalized) recovery code: its
// HMAC under the current key.
func (k *Keys) RecoveryDigest(code string) []byte { return digest(k.current, code) }

// RecoveryDigests are the digests a stored code may have: one per key
// generation, the current one first.
func (k *Keys) RecoveryDigests(code string) [][]byte {
	out := make([][]byte, len(k.all))
	for n, g := range k.all {
		out[n] = digest(g, code)
	}
	return out
}

func digest(g generation, code string) []byte {
	m := hmac.New(sha256.New, g.hmac)
	m.Write([]byte(code))
	return m.Sum(nil)
}

// Package mfakeys keeps second factors' secrets unreadable in the
// database, under the mfa.encryption_key generations: TOTP secrets sealed
// with AES-256-GCM; recovery codes kept as a keyed hash (HMAC-SHA256),
// which a use looks up, and sealed like the secrets, so that a change of
// key can move them (a hash alone cannot be computed again without the
// code). API keys' secrets are kept as a keyed hash alone (never sealed:
// nothing stored may yield a key); a hash made with a previous key is made
// again, under the current one, at the key's next use. The current key seals and hashes; previous keys still open and
// match, so a rotation locks nobody out: a secret opened with an old key
// is reported stale (to be sealed again), a recovery code is matched under
// every generation, and `cleanslice mfa rekey` moves what is left.
//
// Everything sealed starts with its key's id (KeyID), so the database
// tells which key each row needs without opening it.
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
	"encoding/hex"
	"errors"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/mfa"
)

// Keys are the generations of mfa.encryption_key.
type Keys struct {
	current generation
	all     []generation // current first
}

type generation struct {
	id      KeyID
	aead    cipher.AEAD
	hmac    []byte
	apiKeys []byte // the HMAC key of API keys' secrets
}

// KeyIDLen is the size of the key id everything sealed starts with.
const KeyIDLen = 8

// KeyID names a key generation without revealing it: the first KeyIDLen
// bytes of everything sealed under it (the database finds the rows that
// need a key by them).
type KeyID [KeyIDLen]byte

// String is the id in hex, as operators see it.
func (id KeyID) String() string { return hex.EncodeToString(id[:]) }

// New returns the keys: current seals, previous only open.
func New(current string, previous []string) *Keys {
	k := &Keys{}
	for _, s := range append([]string{current}, previous...) {
		k.all = append(k.all, derive(s))
	}
	k.current = k.all[0]
	return k
}

// IDs are the configured generations' ids, the current one first, in the
// order of the configuration (a key listed twice is there twice).
func (k *Keys) IDs() []KeyID {
	ids := make([]KeyID, len(k.all))
	for n, g := range k.all {
		ids[n] = g.id
	}
	return ids
}

func derive(secret string) generation {
	sum := func(label string) []byte {
		h := sha256.Sum256([]byte("cleanslice mfa " + label + "\x00" + secret))
		return h[:]
	}
	block, _ := aes.NewCipher(sum("aes-256-gcm")) // a 32-byte key never fails
	aead, _ := cipher.NewGCM(block)
	g := generation{aead: aead, hmac: sum("recovery codes"), apiKeys: sum("api keys")}
	copy(g.id[:], sum("key id"))
	return g
}

// Seal encrypts a user's TOTP secret: the key id, a random nonce, and the
// ciphertext with its tag. The user's id is authenticated with it, so a
// sealed secret copied to another user's row does not open.
func (k *Keys) Seal(userID uuid.UUID, secret string) []byte {
	return seal(k.current, secret, userID.Bytes())
}

func seal(g generation, plain string, ad []byte) []byte {
	out := make([]byte, KeyIDLen, KeyIDLen+g.aead.NonceSize()+len(plain)+g.aead.Overhead())
	copy(out, g.id[:])
	nonce := make([]byte, g.aead.NonceSize())
	rand.Read(nonce)
	out = append(out, nonce...)
	return g.aead.Seal(out, nonce, []byte(plain), ad)
}

// ErrUnopenable is returned for a sealed secret that no configured key
// opens: sealed under a key since removed from the configuration, or
// altered.
var ErrUnopenable = errors.New("the sealed secret opens with no configured mfa key")

// Open decrypts what Seal made for userID, and reports whether it was
// sealed with a previous key (it should be sealed again with the current
// one).
func (k *Keys) Open(userID uuid.UUID, sealed []byte) (secret string, stale bool, err error) {
	return k.open(sealed, userID.Bytes())
}

func (k *Keys) open(sealed, ad []byte) (plain string, stale bool, err error) {
	for n, g := range k.all {
		if len(sealed) < KeyIDLen+g.aead.NonceSize() || !hmac.Equal(sealed[:KeyIDLen], g.id[:]) {
			continue
		}
		nonce := sealed[KeyIDLen : KeyIDLen+g.aead.NonceSize()]
		b, err := g.aead.Open(nil, nonce, sealed[KeyIDLen+g.aead.NonceSize():], ad)
		if err != nil {
			return "", false, ErrUnopenable
		}
		return string(b), n > 0, nil
	}
	return "", false, ErrUnopenable
}

// SealRecoveryCode is what is stored of a user's (normalized) recovery
// code, under the current key: its HMAC, and the code sealed like a TOTP
// secret, bound to the user and to its use as a recovery code (a sealed
// code moved to another user's row, or to a TOTP secret's, does not open).
func (k *Keys) SealRecoveryCode(userID uuid.UUID, code string) mfa.StoredCode {
	return mfa.StoredCode{Digest: digest(k.current, code), Sealed: seal(k.current, code, codeAD(userID))}
}

// OpenRecoveryCode returns the code SealRecoveryCode sealed for userID,
// and whether it was sealed with a previous key.
func (k *Keys) OpenRecoveryCode(userID uuid.UUID, sealed []byte) (code string, stale bool, err error) {
	return k.open(sealed, codeAD(userID))
}

// Reseal returns a user's TOTP secret, sealed under any configured key,
// sealed again under the current one.
func (k *Keys) Reseal(userID uuid.UUID, sealed []byte) ([]byte, error) {
	secret, _, err := k.Open(userID, sealed)
	if err != nil {
		return nil, err
	}
	return k.Seal(userID, secret), nil
}

// ResealRecoveryCode returns what is stored of a user's recovery code,
// sealed under any configured key, under the current key: its new digest
// and seal.
func (k *Keys) ResealRecoveryCode(userID uuid.UUID, sealed []byte) (mfa.StoredCode, error) {
	code, _, err := k.OpenRecoveryCode(userID, sealed)
	if err != nil {
		return mfa.StoredCode{}, err
	}
	return k.SealRecoveryCode(userID, code), nil
}

func codeAD(userID uuid.UUID) []byte {
	return append([]byte("recovery code\x00"), userID.Bytes()...)
}

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

// APIKeyHashLen is the size of what is stored of an API key's secret: the
// key id and an HMAC-SHA256.
const APIKeyHashLen = KeyIDLen + sha256.Size

// HashAPIKey is what is stored of the secret of the API key whose id is
// id, under the current key: the key id, then HMAC-SHA256 of the id and
// the secret (a hash copied to another key's row does not match there).
func (k *Keys) HashAPIKey(id uuid.UUID, secret []byte) []byte {
	out := make([]byte, 0, APIKeyHashLen)
	out = append(out, k.current.id[:]...)
	return append(out, apiKeyMAC(k.current, id, secret)...)
}

// MatchAPIKey reports whether secret is the secret of the API key id whose
// stored hash is hash, and whether hash was made with a previous key (it
// should be made again, with HashAPIKey). Every call computes one HMAC and
// compares it in constant time, whatever hash is: nil (an unknown key) or
// a hash of a key generation no longer configured costs what a wrong
// secret costs.
func (k *Keys) MatchAPIKey(id uuid.UUID, secret, hash []byte) (ok, stale bool) {
	g, n := k.current, -1
	for i, c := range k.all {
		if len(hash) == APIKeyHashLen && hmac.Equal(hash[:KeyIDLen], c.id[:]) {
			g, n = c, i
			break
		}
	}
	want := make([]byte, sha256.Size)
	if n >= 0 {
		want = hash[KeyIDLen:]
	}
	match := hmac.Equal(apiKeyMAC(g, id, secret), want)
	return match && n >= 0, match && n > 0
}

func apiKeyMAC(g generation, id uuid.UUID, secret []byte) []byte {
	m := hmac.New(sha256.New, g.apiKeys)
	m.Write(id.Bytes())
	m.Write(secret)
	return m.Sum(nil)
}

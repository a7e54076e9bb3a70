// Package apikey holds the rules of API keys (SPEC 4f): the format of a
// key, what is stored of it, its scope, its lifetime and its end.
//
// A key is "cs_" + an id part + a secret part + a checksum, all base62:
//
//	cs_ 2Q0Jm4p6Ox1b3HZ7LqxVdB 8rW...(43 characters)... K9aQ1z
//	    id (16 bytes, 22)      secret (32 bytes)        CRC-32 (6)
//
// The id part is the key's id, random, by which one indexed read finds its
// row; the secret is 256 random bits, of which only a keyed hash is stored
// (see Hasher); the checksum (CRC-32 of everything before it) refuses a
// mistyped or truncated key before any query, and lets secret scanners
// tell a real key from a look-alike. The fixed prefix "cs_" is what the
// scanners match.
package apikey

import (
	"context"
	"crypto/rand"
	"errors"
	"hash/crc32"
	"math/big"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/user"
)

// The parts of a key, in characters.
const (
	Marker    = "cs_"
	idLen     = 22 // 16 bytes in base62: 62^22 > 2^128
	secretLen = 43 // 32 bytes in base62: 62^43 > 2^256
	checkLen  = 6  // a CRC-32 in base62: 62^6 > 2^32
	// Len is a key's length.
	Len = len(Marker) + idLen + secretLen + checkLen
	// PrefixLen is how much of a key the API shows of it (its prefix), for
	// recognising it in a list: the marker and 9 characters of the id.
	PrefixLen = 12
	// SecretBytes is the secret's size: 256 bits.
	SecretBytes = 32
)

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// ErrMalformed is a presented key that cannot be one of ours: the wrong
// length or marker, a character outside base62, or a checksum that does
// not match (a typo).
var ErrMalformed = errors.New("malformed api key")

// Generate returns a new key as the client holds it, its id and its secret.
func Generate() (key string, id uuid.UUID, secret []byte) {
	id = uuid.Must(uuid.NewV4()) // random: keys' prefixes tell them apart
	secret = make([]byte, SecretBytes)
	rand.Read(secret) // never fails (crypto/rand, Go 1.24+)
	body := Marker + encode(id.Bytes(), idLen) + encode(secret, secretLen)
	return body + encode(checksum(body), checkLen), id, secret
}

// Parse returns the id and the secret of a presented key, or ErrMalformed:
// no key that fails here costs a query.
func Parse(key string) (uuid.UUID, []byte, error) {
	if len(key) != Len || !strings.HasPrefix(key, Marker) {
		return uuid.Nil, nil, ErrMalformed
	}
	body, check := key[:Len-checkLen], key[Len-checkLen:]
	sum, ok := decode(check, 4)
	if !ok || string(sum) != string(checksum(body)) {
		return uuid.Nil, nil, ErrMalformed
	}
	idPart := body[len(Marker) : len(Marker)+idLen]
	rawID, ok := decode(idPart, 16)
	if !ok {
		return uuid.Nil, nil, ErrMalformed
	}
	secret, ok := decode(body[len(Marker)+idLen:], SecretBytes)
	if !ok {
		return uuid.Nil, nil, ErrMalformed
	}
	return uuid.FromBytesOrNil(rawID), secret, nil
}

// Prefix is what the API shows of the key whose id is id: its first
// PrefixLen characters (the id part begins the key, so they follow from
// the id alone and nothing of the key need be stored to show them).
func Prefix(id uuid.UUID) string {
	return (Marker + encode(id.Bytes(), idLen))[:PrefixLen]
}

func checksum(body string) []byte {
	return big.NewInt(int64(crc32.ChecksumIEEE([]byte(body)))).FillBytes(make([]byte, 4))
}

// encode writes b as a big-endian number in exactly width base62 digits.
func encode(b []byte, width int) string {
	n, base, digit := new(big.Int).SetBytes(b), big.NewInt(int64(len(alphabet))), new(big.Int)
	out := make([]byte, width)
	for k := width - 1; k >= 0; k-- {
		n.DivMod(n, base, digit)
		out[k] = alphabet[digit.Int64()]
	}
	return string(out)
}

// decode reads what encode wrote of size bytes; false when s has a
// character outside the alphabet or a value too large for size bytes.
func decode(s string, size int) ([]byte, bool) {
	n, base, digit := new(big.Int), big.NewInt(int64(len(alphabet))), new(big.Int)
	for k := 0; k < len(s); k++ {
		d := strings.IndexByte(alphabet, s[k])
		if d < 0 {
			return nil, false
		}
		n.Mul(n, base).Add(n, digit.SetInt64(int64(d)))
	}
	if n.BitLen() > size*8 {
		return nil, false
	}
	return n.FillBytes(make([]byte, size)), true
}

// Scope is what a key may do with its user's rights.
type Scope string

// The scopes.
const (
	ScopeRead Scope = "read" // safe methods (GET, HEAD, OPTIONS) only
	ScopeFull Scope = "full" // whatever its user may do on the routes keys reach
)

// Valid reports whether s is one of the scopes.
func (s Scope) Valid() bool { return s == ScopeRead || s == ScopeFull }

// Allows reports whether a key of scope s may make a request of method.
func (s Scope) Allows(method string) bool {
	switch s {
	case ScopeFull:
		return true
	case ScopeRead:
		return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
	}
	return false
}

// Key is an API key as stored: never the key, only Hash, the keyed hash of
// its secret.
type Key struct {
	ID         uuid.UUID
	UserID     uuid.UUID
	Name       string
	Scope      Scope
	Hash       []byte
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastUsedAt time.Time // zero: never used
	LastUsedIP string
}

// Prefix is the key's first PrefixLen characters.
func (k Key) Prefix() string { return Prefix(k.ID) }

// Expired reports whether k is over at now.
func (k Key) Expired(now time.Time) bool { return !now.Before(k.ExpiresAt) }

// UseInterval is how often a key's last use is written at most: a key used
// many times a second costs one write a minute, on any number of replicas.
const UseInterval = time.Minute

// UseDue reports whether a use at now should be written.
func (k Key) UseDue(now time.Time) bool {
	return k.LastUsedAt.IsZero() || now.Sub(k.LastUsedAt) >= UseInterval
}

// Hasher makes and checks what is stored of a key's secret: a keyed hash
// under the mfa.encryption_key generations (platform/mfakeys), bound to
// the key's id. Match does the same work whether hash is a stored one or
// nil (an unknown id): the answers to an unknown key and to a wrong
// secret take the same time. stale says the hash was made with a previous
// key generation and should be made again.
type Hasher interface {
	HashAPIKey(id uuid.UUID, secret []byte) []byte
	MatchAPIKey(id uuid.UUID, secret, hash []byte) (ok, stale bool)
}

// Limits of keys.
const (
	// MaxPerUser is how many live keys one user may hold.
	MaxPerUser = 25
	// MinLifetime is the shortest expires_in.
	MinLifetime = time.Minute
	// MaxName is the longest name, in characters.
	MaxName = 64
)

// CheckName returns what is wrong with a key's name, or nil: 1 to MaxName
// characters, plain text (user.PlainText).
func CheckName(name string) error {
	n := utf8.RuneCountInString(name)
	switch {
	case strings.TrimSpace(name) == "":
		return errors.New("name is required")
	case n > MaxName:
		return errors.New("name is longer than 64 characters")
	case !user.PlainText(name):
		return errors.New("name has control or invisible formatting characters")
	}
	return nil
}

// Issue returns a new key of userID, named name, of scope, made at now and
// valid for lifetime, as stored (its secret hashed by hash: see Hasher),
// and the key itself, for the client alone.
func Issue(hash func(id uuid.UUID, secret []byte) []byte, userID uuid.UUID, name string, scope Scope, now time.Time, lifetime time.Duration) (Key, string) {
	key, id, secret := Generate()
	now = user.Timestamp(now)
	return Key{
		ID: id, UserID: userID, Name: name, Scope: scope, Hash: hash(id, secret),
		CreatedAt: now, ExpiresAt: user.Timestamp(now.Add(lifetime)),
	}, key
}

// Errors of API keys.
var (
	// ErrRefused answers every key that does not authenticate (malformed,
	// unknown, a wrong secret, expired, revoked, its user inactive): one
	// answer for all.
	ErrRefused = &apperr.Error{Kind: apperr.KindUnauthenticated, Code: "not_authenticated", Message: "the API key is not valid: unknown, revoked or expired"}
	// ErrReadOnly refuses a change made with a key of scope read.
	ErrReadOnly = &apperr.Error{Kind: apperr.KindForbidden, Code: "forbidden", Message: "this API key may only read (scope read)"}
	// ErrBothCredentials refuses a request that carries a session cookie
	// and a key: which one acts would be a guess.
	ErrBothCredentials = &apperr.Error{Kind: apperr.KindBadRequest, Code: "ambiguous_credentials", Message: "send the session cookie or an API key, not both"}
	ErrNotFound        = &apperr.Error{Kind: apperr.KindNotFound, Code: "api_key_not_found", Message: "no such API key"}
	ErrLimit           = &apperr.Error{Kind: apperr.KindConflict, Code: "api_key_limit", Message: "you hold 25 live API keys: revoke one first"}
)

// Reason says why keys were revoked (details.reason of api_key.revoked).
type Reason string

// The reasons keys are revoked.
const (
	RevokedByOwner        Reason = "owner"        // its user revoked it
	RevokedByAdmin        Reason = "admin"        // an admin revoked a lower-ranked user's keys
	RevokedByInactivation Reason = "inactivation" // its user was inactivated
	RevokedByRecovery     Reason = "recovery"     // its user's password was recovered by mail
	RevokedByPasswordSet  Reason = "password_set" // an admin set its user's password
	RevokedByMFAReset     Reason = "mfa_reset"    // an admin removed its user's second factors
)

// RevokeStore removes keys and records their end.
type RevokeStore interface {
	DeleteUserAPIKeys(ctx context.Context, userID uuid.UUID) (int, error)
	RecordEvent(ctx context.Context, e audit.Event) error
}

// RevokeAll revokes every key of userID, for good, and records
// api_key.revoked (details.reason, details.revoked: the count) by actor
// (uuid.Nil: the service), in the transaction in ctx. Nothing is recorded
// when the user held none. It is what ends a user's keys with their
// inactivation, recovery, an admin's password set and an MFA reset.
func RevokeAll(ctx context.Context, store RevokeStore, now time.Time, actor, userID uuid.UUID, reason Reason) (int, error) {
	n, err := store.DeleteUserAPIKeys(ctx, userID)
	if err != nil || n == 0 {
		return n, err
	}
	return n, store.RecordEvent(ctx, Revoked(ctx, now, actor, userID, reason, n, uuid.Nil))
}

// Revoked is the api_key.revoked event of n keys of target revoked by
// actor for reason; one key, when keyID is not Nil, is named in
// details.key.
func Revoked(ctx context.Context, now time.Time, actor, target uuid.UUID, reason Reason, n int, keyID uuid.UUID) audit.Event {
	details := map[string]any{"reason": string(reason), "revoked": n}
	if !keyID.IsNil() {
		details["key"] = keyID.String()
	}
	return audit.New(ctx, now, audit.APIKeyRevoked, actor, target, details)
}

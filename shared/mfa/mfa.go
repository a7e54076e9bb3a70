// Package mfa holds the rules of second factors: which TOTP codes are
// accepted (CheckCode: once, after the last accepted step; the RFC 6238
// mathematics is platform/totp's), recovery codes, passkeys and their
// ceremonies, what factors a user has and the methods a login may finish
// with, and the assurance a session gets from the methods that made it.
package mfa

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"strings"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
)

// The methods a login is made with, as sessions and events name them.
const (
	MethodPassword     = "password"
	MethodTOTP         = "totp"
	MethodWebAuthn     = "webauthn"
	MethodRecoveryCode = "recovery_code"
	// MethodOIDC is a sign-in through an identity provider (SPEC 4d): one
	// factor, like a password.
	MethodOIDC = "oidc"
)

// Assurance levels (NIST SP 800-63B's AAL): one factor, or two.
const (
	AAL1 = 1
	AAL2 = 2
)

// AAL is the assurance of a session made with methods: 2 when a second
// factor (or a passkey, which is two) took part, else 1 (a password, or
// an identity provider's sign-in, alone).
func AAL(methods []string) int {
	for _, m := range methods {
		if m != MethodPassword && m != MethodOIDC {
			return AAL2
		}
	}
	return AAL1
}

// Factors is what second factors a user has.
type Factors struct {
	TOTPEnabledAt     time.Time // zero: no TOTP
	Passkeys          int       // registered WebAuthn credentials
	SignInPasskeys    int       // those of them that sign in without a password (Passkey.UserVerified)
	RecoveryCodesLeft int
}

// TOTP reports whether an authenticator app is enrolled.
func (f Factors) TOTP() bool { return !f.TOTPEnabledAt.IsZero() }

// Any reports whether the user has a second factor, so that a password
// alone no longer logs them in. Recovery codes only stand in for a
// factor: left alone they do not count.
func (f Factors) Any() bool { return f.TOTP() || f.Passkeys > 0 }

// Methods are the ways the second step of a login may be made, in the
// order a client should offer them.
func (f Factors) Methods() []string {
	var m []string
	if f.TOTP() {
		m = append(m, MethodTOTP)
	}
	if f.Passkeys > 0 {
		m = append(m, MethodWebAuthn)
	}
	if f.RecoveryCodesLeft > 0 {
		m = append(m, MethodRecoveryCode)
	}
	return m
}

// Recovery codes: RecoveryCodes of them a set, each recoveryCodeLen
// characters of a 32-letter alphabet without look-alikes (50 bits), shown
// as two groups of five.
const (
	RecoveryCodes   = 10
	recoveryCodeLen = 10
	recoveryAlpha   = "023456789abcdefghjkmnpqrstuvwxyz" // 32: no 1, i, l, o
)

// NewRecoveryCodes returns a fresh set of recovery codes, as shown.
func NewRecoveryCodes() []string {
	codes := make([]string, RecoveryCodes)
	for n := range codes {
		b := make([]byte, recoveryCodeLen)
		rand.Read(b)
		for k := range b {
			b[k] = recoveryAlpha[int(b[k])%len(recoveryAlpha)]
		}
		codes[n] = string(b[:5]) + "-" + string(b[5:])
	}
	return codes
}

// NormalizeRecoveryCode returns code as it is digested and sealed: lower
// case, without the separator, spaces or surrounding blanks; false when it
// cannot be a recovery code at all.
func NormalizeRecoveryCode(code string) (string, bool) {
	c := strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return r
	}, strings.TrimSpace(code))
	if len(c) != recoveryCodeLen {
		return "", false
	}
	for _, r := range c {
		if !strings.ContainsRune(recoveryAlpha, r) {
			return "", false
		}
	}
	return c, true
}

// Errors of the second-factor routes.
var (
	ErrInvalidCode        = &apperr.Error{Kind: apperr.KindUnauthenticated, Code: "invalid_code", Message: "the code is wrong, expired or already used"}
	ErrTOTPAlreadyEnabled = &apperr.Error{Kind: apperr.KindConflict, Code: "totp_already_enabled", Message: "an authenticator app is already enrolled; disable it first"}
	ErrNoSecondFactor     = &apperr.Error{Kind: apperr.KindConflict, Code: "mfa_not_enabled", Message: "enroll a second factor first"}
	ErrNoTOTPSetup        = &apperr.Error{Kind: apperr.KindConflict, Code: "totp_not_set_up", Message: "start with the setup of an authenticator app"}
)

// ErrWrongEnableCode is the refusal of a first code that is not the
// authenticator's: the input is wrong, the session is fine (422).
var ErrWrongEnableCode = &apperr.Error{Kind: apperr.KindInvalid, Code: "invalid_code", Message: "the code does not match the authenticator app",
	Fields: []apperr.FieldError{{Field: "code", Message: "the code is not the one the authenticator app shows now"}}}

// TOTP is a user's authenticator app as stored: the sealed secret (see
// the Sealer of the slices), when a first code enabled it (zero: set up,
// not yet confirmed), and the last time step a code was accepted for.
type TOTP struct {
	Sealed    []byte
	EnabledAt time.Time
	LastStep  int64
}

// Enabled reports whether the authenticator is confirmed and in use.
func (t TOTP) Enabled() bool { return !t.EnabledAt.IsZero() }

// MaxCodeAttempts is how many second steps one pending login may try: the
// fifth wrong one ends it.
const MaxCodeAttempts = 5

// Sealer seals and opens TOTP secrets, bound to their user (see
// platform/mfakeys); Open reports a secret sealed with an old key as stale.
type Sealer interface {
	Seal(userID uuid.UUID, secret string) []byte
	Open(userID uuid.UUID, sealed []byte) (secret string, stale bool, err error)
}

// Codes is the TOTP mathematics (platform/totp): the time step, of now's
// and the ones the skew allows, whose code is code.
type Codes interface {
	MatchStep(secret, code string, now time.Time) (int64, bool)
}

// CheckCode is the one check of a TOTP code against a user's stored
// authenticator: the time step the code belongs to, when it is one of
// now's (with the skew) and after the last accepted step, so a code is
// never good twice. resealed is the secret sealed with the current key
// when it was sealed with an old one (nil otherwise), to store with the
// accepted step. The caller must still record the step atomically (only
// if it is after the stored one), or two uses of one code could both pass.
func CheckCode(sealer Sealer, codes Codes, userID uuid.UUID, t TOTP, code string, now time.Time) (step int64, resealed []byte, ok bool, err error) {
	secret, stale, err := sealer.Open(userID, t.Sealed)
	if err != nil {
		return 0, nil, false, err
	}
	step, ok = codes.MatchStep(secret, code, now)
	if !ok || step <= t.LastStep {
		return 0, nil, false, nil
	}
	if stale {
		resealed = sealer.Seal(userID, secret)
	}
	return step, resealed, true, nil
}

// StoredCode is what is kept of one recovery code: its keyed digest, by
// which a use finds it (and deletes it, in one statement), and the code
// sealed for its user, by which a change of key moves it to the new key
// (see platform/mfakeys). Neither yields the code without the key.
type StoredCode struct {
	Digest []byte
	Sealed []byte
}

// CodeStore keeps a user's recovery codes (what is stored of them) and
// records their event.
type CodeStore interface {
	ReplaceRecoveryCodes(ctx context.Context, userID uuid.UUID, codes []StoredCode, now time.Time) error
	RecordEvent(ctx context.Context, e audit.Event) error
}

// IssueRecoveryCodes makes a fresh set of recovery codes for userID,
// stores what is kept of them (seal of each normalized code) in place of
// the old set, records mfa.recovery_codes_generated, and returns the
// codes, to show once. Call it in the transaction of the change.
func IssueRecoveryCodes(ctx context.Context, store CodeStore, seal func(userID uuid.UUID, code string) StoredCode, userID uuid.UUID, now time.Time) ([]string, error) {
	codes := NewRecoveryCodes()
	stored := make([]StoredCode, len(codes))
	for k, c := range codes {
		n, _ := NormalizeRecoveryCode(c)
		stored[k] = seal(userID, n)
	}
	if err := store.ReplaceRecoveryCodes(ctx, userID, stored, now); err != nil {
		return nil, err
	}
	e := audit.New(ctx, now, audit.RecoveryCodesGenerated, userID, userID, map[string]any{"count": len(codes)})
	return codes, store.RecordEvent(ctx, e)
}

// Passkey is a registered WebAuthn credential (a passkey or a security
// key): its credential id, the id the API shows and takes, the name its
// user gave it, the relying party's record of it (public key, transports,
// backup flags; opaque here), and its signature counter.
type Passkey struct {
	ID         []byte
	PublicID   uuid.UUID
	UserID     uuid.UUID
	Name       string
	Record     []byte
	SignCount  uint32
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used
	// UserVerified says the authenticator verified its user (a PIN,
	// biometrics) at registration: only such a passkey signs in without a
	// password.
	UserVerified bool
}

// Account is what a WebAuthn ceremony knows of a user: the random user
// handle (never the username or the database id), the name
// authenticators show, and the registered credentials.
type Account struct {
	Handle   []byte
	Name     string
	Passkeys []Passkey
}

// Passkey returns the account's credential with id, and whether there is.
func (a Account) Passkey(id []byte) (Passkey, bool) {
	for _, p := range a.Passkeys {
		if string(p.ID) == string(id) {
			return p, true
		}
	}
	return Passkey{}, false
}

// MaxPasskeyName is the longest name a passkey may have, in characters.
const MaxPasskeyName = 64

// Ceremony is a WebAuthn ceremony begun and not yet finished. It is found
// by the challenge the authenticator signs (ID is the challenge's SHA-256),
// so that any replica finishes what another began; it is used once.
type Ceremony struct {
	ID        []byte
	Purpose   string // CeremonyRegister, CeremonySecondStep or CeremonyPasskey
	UserID    uuid.UUID
	Session   []byte // the relying party's state between the two steps
	ExpiresAt time.Time
}

// What a ceremony is for.
const (
	CeremonyRegister   = "register"
	CeremonySecondStep = "second_step"
	CeremonyPasskey    = "passkey"
)

// CeremonyTTL is how long a ceremony may take from begin to finish.
const CeremonyTTL = 5 * time.Minute

// CeremonyID is the id of the ceremony whose challenge (base64url, as the
// client data carries it) is challenge.
func CeremonyID(challenge string) []byte {
	sum := sha256.Sum256([]byte(challenge))
	return sum[:]
}

// CeremonyStore takes a ceremony by id: it is gone after, whatever the
// outcome (ErrChallengeExpired when there is none).
type CeremonyStore interface {
	TakeCeremony(ctx context.Context, id []byte) (Ceremony, error)
}

// ChallengeReader reads which ceremony a WebAuthn answer belongs to (the
// id of the challenge it signed; platform/passkeys).
type ChallengeReader interface {
	CeremonyOf(credential []byte) ([]byte, error)
}

// TakeCeremony is the one check of the ceremony a WebAuthn answer
// (credential) belongs to, before the answer itself is verified: the
// ceremony its challenge names is taken, so that a challenge is used once
// whatever the outcome; then it must be for purpose, not over at now, and
// begun for owner (uuid.Nil: a passwordless sign-in, begun for nobody).
// ErrInvalidCredential when the answer names no challenge, or the
// ceremony is another purpose's or another user's; ErrChallengeExpired
// when it is over or used.
func TakeCeremony(ctx context.Context, store CeremonyStore, rp ChallengeReader, credential []byte, purpose string, owner uuid.UUID, now time.Time) (Ceremony, error) {
	id, err := rp.CeremonyOf(credential)
	if err != nil {
		return Ceremony{}, err
	}
	c, err := store.TakeCeremony(ctx, id)
	switch {
	case err != nil:
		return Ceremony{}, err
	case c.Purpose != purpose, c.UserID != owner:
		return Ceremony{}, ErrInvalidCredential
	case !now.Before(c.ExpiresAt):
		return Ceremony{}, ErrChallengeExpired
	}
	return c, nil
}

// The refusals of WebAuthn ceremonies.
var (
	ErrInvalidCredential = &apperr.Error{Kind: apperr.KindUnauthenticated, Code: "invalid_credential", Message: "the passkey's answer does not verify"}
	ErrChallengeExpired  = &apperr.Error{Kind: apperr.KindUnauthenticated, Code: "challenge_expired", Message: "the ceremony is over or was used; begin again"}
	// ErrClonedCredential is a signature counter that went back: two
	// authenticators hold the same key.
	ErrClonedCredential = &apperr.Error{Kind: apperr.KindUnauthenticated, Code: "invalid_credential", Message: "the passkey's signature counter went back: it may be cloned"}
	ErrPasskeyNotFound  = &apperr.Error{Kind: apperr.KindNotFound, Code: "passkey_not_found", Message: "no such passkey of yours"}
)

// The refusals of a registration: the caller's input, not their session.
var (
	ErrInvalidRegistration = &apperr.Error{Kind: apperr.KindInvalid, Code: "invalid_credential", Message: "the new passkey's answer does not verify",
		Fields: []apperr.FieldError{{Field: "credential", Message: "not a valid answer to this registration"}}}
	ErrRegistrationExpired = &apperr.Error{Kind: apperr.KindInvalid, Code: "challenge_expired", Message: "the registration is over or was used; begin again",
		Fields: []apperr.FieldError{{Field: "credential", Message: "its challenge is over or used"}}}
)

// Cloned reports whether err is ErrClonedCredential itself: it matches
// ErrInvalidCredential too (the client gets the same answer), but is
// recorded as what it is.
func Cloned(err error) bool {
	e, ok := apperr.As(err)
	return ok && e == ErrClonedCredential
}

// FactorStore reads a user's factors and removes their recovery codes.
type FactorStore interface {
	Factors(ctx context.Context, userID uuid.UUID) (Factors, error)
	DeleteRecoveryCodes(ctx context.Context, userID uuid.UUID) (int, error)
}

// FactorRemoved applies, after a factor of userID is removed (in the same
// transaction), the rule that recovery codes stand in for a factor and
// never alone: when no factor is left, they go too.
func FactorRemoved(ctx context.Context, store FactorStore, userID uuid.UUID) error {
	left, err := store.Factors(ctx, userID)
	if err != nil || left.Any() {
		return err
	}
	_, err = store.DeleteRecoveryCodes(ctx, userID)
	return err
}

// Given reports whether a request carried a WebAuthn answer: a JSON value
// other than null.
func Given(credential []byte) bool {
	return len(credential) > 0 && string(credential) != "null"
}

// AccountStore reads what a WebAuthn ceremony knows of a user.
type AccountStore interface {
	WebAuthnHandle(ctx context.Context, userID uuid.UUID) ([]byte, error)
	Passkeys(ctx context.Context, userID uuid.UUID) ([]Passkey, error)
}

// AccountOf is the user userID, shown to authenticators as name, as a
// WebAuthn ceremony knows it: the user handle (made at the first call)
// and the registered credentials.
func AccountOf(ctx context.Context, store AccountStore, userID uuid.UUID, name string) (Account, error) {
	handle, err := store.WebAuthnHandle(ctx, userID)
	if err != nil {
		return Account{}, err
	}
	keys, err := store.Passkeys(ctx, userID)
	return Account{Handle: handle, Name: name, Passkeys: keys}, err
}

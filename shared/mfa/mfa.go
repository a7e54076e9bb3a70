// Package mfa holds the rules of second factors: TOTP codes (RFC 6238) and
// the steps they belong to, recovery codes, what factors a user has and
// the methods a login may finish with, and the assurance a session gets
// from the methods that made it.
package mfa

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"

	"github.com/cleanslice/cleanslice/shared/apperr"
)

// The methods a login is made with, as sessions and events name them.
const (
	MethodPassword     = "password"
	MethodTOTP         = "totp"
	MethodWebAuthn     = "webauthn"
	MethodRecoveryCode = "recovery_code"
)

// Assurance levels (NIST SP 800-63B's AAL): one factor, or two.
const (
	AAL1 = 1
	AAL2 = 2
)

// AAL is the assurance of a session made with methods: 2 when a second
// factor (or a passkey, which is two) took part, else 1.
func AAL(methods []string) int {
	for _, m := range methods {
		if m != MethodPassword {
			return AAL2
		}
	}
	return AAL1
}

// Factors is what second factors a user has.
type Factors struct {
	TOTPEnabledAt     time.Time // zero: no TOTP
	RecoveryCodesLeft int
}

// TOTP reports whether an authenticator app is enrolled.
func (f Factors) TOTP() bool { return !f.TOTPEnabledAt.IsZero() }

// Any reports whether the user has a second factor, so that a password
// alone no longer logs them in. Recovery codes only stand in for a
// factor: left alone they do not count.
func (f Factors) Any() bool { return f.TOTP() }

// Methods are the ways the second step of a login may be made, in the
// order a client should offer them.
func (f Factors) Methods() []string {
	var m []string
	if f.TOTP() {
		m = append(m, MethodTOTP)
	}
	if f.RecoveryCodesLeft > 0 {
		m = append(m, MethodRecoveryCode)
	}
	return m
}

// TOTP parameters (RFC 6238 as every authenticator app implements it).
const (
	Period     = 30 * time.Second
	Digits     = 6
	Skew       = 1  // steps accepted either side of the current one
	SecretSize = 20 // bytes: 160 bits, RFC 4226's recommendation
)

// NewSecret returns a fresh TOTP secret, base32 without padding as
// authenticator apps take it.
func NewSecret() string {
	b := make([]byte, SecretSize)
	rand.Read(b)
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

// URI is the otpauth:// URI an authenticator app scans (as a QR code) or
// takes as a link: the Key Uri Format of Google Authenticator.
func URI(issuer, account, secret string) string {
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", issuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", "6")
	v.Set("period", "30")
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + account, RawQuery: v.Encode()}
	return u.String()
}

// Step is the number of the TOTP time step now falls in.
func Step(now time.Time) int64 { return now.Unix() / int64(Period/time.Second) }

// MatchStep returns the time step (now's, or one either side) whose code
// is code, and whether there is one. It says nothing of replays: the
// caller accepts a step only once (after the last accepted one).
func MatchStep(secret, code string, now time.Time) (int64, bool) {
	if !wellFormedCode(code) {
		return 0, false
	}
	current := Step(now)
	found, match := int64(0), 0
	// Every candidate is computed and compared in constant time, so the
	// answer's timing does not tell which step matched.
	for s := current - Skew; s <= current+Skew; s++ {
		want, err := hotp.GenerateCodeCustom(secret, uint64(s), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && match == 0 {
			found, match = s, 1
		}
	}
	return found, match == 1
}

// Code returns secret's code for the time step of t: what an
// authenticator app shows (tests and tools use it).
func Code(secret string, t time.Time) (string, error) {
	return hotp.GenerateCodeCustom(secret, uint64(Step(t)), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

func wellFormedCode(code string) bool {
	if len(code) != Digits {
		return false
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
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

// NormalizeRecoveryCode returns code as stored (hashed): lower case,
// without the separator, spaces or surrounding blanks; false when it
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

// Package totp is the RFC 6238 mathematics of authenticator apps (SHA-1,
// 6 digits, 30 s steps), through github.com/pquerna/otp: fresh secrets,
// the otpauth:// URI apps scan, and which time step a code belongs to.
// Which steps are accepted (once, after the last) is the domain's rule
// (mfa.CheckCode).
package totp

import (
	"crypto/rand"
	"crypto/subtle"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// The parameters every authenticator app implements.
const (
	Period     = 30 * time.Second
	Skew       = 1  // steps accepted either side of the current one
	SecretSize = 20 // bytes: 160 bits, RFC 4226's recommendation
	digits     = otp.DigitsSix
)

// Authenticator makes secrets for one issuer (the name apps show) and
// checks their codes.
type Authenticator struct {
	Issuer string
}

// NewSecret returns a fresh secret, base32 without padding as apps take
// it, and its otpauth:// URI for account (Google Authenticator's Key Uri
// Format).
func (a Authenticator) NewSecret(account string) (secret, uri string, err error) {
	b := make([]byte, SecretSize)
	rand.Read(b)
	key, err := totp.Generate(totp.GenerateOpts{Issuer: a.Issuer, AccountName: account, Secret: b,
		Period: uint(Period / time.Second), Digits: digits, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", "", err
	}
	return key.Secret(), key.URL(), nil
}

// Step is the number of the time step t falls in.
func Step(t time.Time) int64 { return t.Unix() / int64(Period/time.Second) }

// MatchStep returns the time step (now's, or one either side) whose code
// is code, and whether there is one. Every candidate is computed and
// compared in constant time, so the answer's timing does not tell which
// step matched.
func (Authenticator) MatchStep(secret, code string, now time.Time) (int64, bool) {
	if len(code) != digits.Length() {
		return 0, false
	}
	found, match := int64(0), 0
	for s := Step(now) - Skew; s <= Step(now)+Skew; s++ {
		want, err := codeAt(secret, s)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && match == 0 {
			found, match = s, 1
		}
	}
	return found, match == 1
}

// Code returns secret's code for the time step of t: what an app shows
// (for tests and tools).
func Code(secret string, t time.Time) (string, error) { return codeAt(secret, Step(t)) }

func codeAt(secret string, step int64) (string, error) {
	return hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: digits, Algorithm: otp.AlgorithmSHA1})
}

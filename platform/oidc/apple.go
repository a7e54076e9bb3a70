package oidc

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cleanslice/cleanslice/platform/config"
)

// appleSecretTTL is how long a client secret made for one token call is
// valid (Apple accepts up to six months; each call makes its own).
const appleSecretTTL = 5 * time.Minute

// appleSecret returns how the client secret of Sign in with Apple is made
// for each token call: a JWT signed ES256 with the .p8 key (the
// configured client secret), issued by the team, for the client (its
// subject), to Apple (the audience: the issuer), named by the key id.
func appleSecret(s config.OAuthProvider, now func() time.Time) (func() (string, error), error) {
	b, _ := pem.Decode([]byte(s.ClientSecret))
	if b == nil {
		return nil, errors.New("the client secret is not a PEM .p8 key")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the .p8 key: %w", err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("the .p8 key is not an EC key")
	}
	return func() (string, error) {
		at := now()
		t := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.RegisteredClaims{
			Issuer: s.TeamID, Subject: s.ClientID, Audience: jwt.ClaimStrings{s.Issuer},
			IssuedAt: jwt.NewNumericDate(at), ExpiresAt: jwt.NewNumericDate(at.Add(appleSecretTTL)),
		})
		t.Header["kid"] = s.KeyID
		return t.SignedString(key)
	}, nil
}

// Package passkeystest is a software authenticator for tests and the
// bench: it answers the service's WebAuthn options as a browser with a
// platform authenticator would (ES256, attestation "none", user verified),
// and can be made to lie (another origin or RP id, a counter that goes
// back) to test the refusals. A real browser's authenticator is tested
// with Chromium's virtual authenticator.
package passkeystest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// Authenticator holds one credential, made by Create.
type Authenticator struct {
	Origin       string // what the client data says the page's origin is
	RPID         string // whose RP id hash the authenticator data carries
	Counter      uint32 // the signature counter; each Get adds one first
	UserHandle   []byte // the account the credential is for (from Create)
	CredentialID []byte
	// NoUV makes it a security key without user verification (no PIN,
	// no biometrics): its flags never say UV.
	NoUV bool
	key  *ecdsa.PrivateKey
}

// New returns an authenticator for pages of origin, under rpID.
func New(origin, rpID string) *Authenticator {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	id := make([]byte, 16)
	rand.Read(id)
	return &Authenticator{Origin: origin, RPID: rpID, key: key, CredentialID: id}
}

var b64 = base64.RawURLEncoding

// options is what Create and Get read of the service's options.
type options struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		User      struct {
			ID string `json:"id"`
		} `json:"user"`
	} `json:"publicKey"`
}

// Create answers creation options (the JSON the service's register/begin
// returns) with a new credential: the JSON of a PublicKeyCredential.
func (a *Authenticator) Create(opts []byte) ([]byte, error) {
	var o options
	if err := json.Unmarshal(opts, &o); err != nil {
		return nil, err
	}
	handle, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		return nil, fmt.Errorf("user id: %w", err)
	}
	a.UserHandle = handle
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         1, // P-256
		XCoord:        a.key.X.FillBytes(make([]byte, 32)),
		YCoord:        a.key.Y.FillBytes(make([]byte, 32)),
	})
	if err != nil {
		return nil, err
	}
	auth := a.authData(0x41|0x04, cose) // UP, UV, AT
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": auth})
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.CredentialID), "rawId": b64.EncodeToString(a.CredentialID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData("webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal"},
		},
		"clientExtensionResults": map[string]any{},
	})
}

// Get answers request options (login/webauthn/begin's or passkey/begin's)
// with an assertion by the credential, user verified.
func (a *Authenticator) Get(opts []byte) ([]byte, error) {
	var o options
	if err := json.Unmarshal(opts, &o); err != nil {
		return nil, err
	}
	a.Counter++
	auth := a.authData(0x01|0x04, nil) // UP, UV
	cd := a.clientData("webauthn.get", o.PublicKey.Challenge)
	sum := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, auth...), sum[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.CredentialID), "rawId": b64.EncodeToString(a.CredentialID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(auth),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(a.UserHandle),
		},
		"clientExtensionResults": map[string]any{},
	})
}

func (a *Authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	return b
}

// authData is the authenticator data: the RP id's hash, flags, counter,
// and for a new credential its AAGUID (zero), id and public key.
func (a *Authenticator) authData(flags byte, cose []byte) []byte {
	rp := sha256.Sum256([]byte(a.RPID))
	if a.NoUV {
		flags &^= 0x04
	}
	b := append(rp[:], flags)
	b = binary.BigEndian.AppendUint32(b, a.Counter)
	if cose != nil {
		b = append(b, make([]byte, 16)...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(a.CredentialID)))
		b = append(b, a.CredentialID...)
		b = append(b, cose...)
	}
	return b
}

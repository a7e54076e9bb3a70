// Package cursor makes the opaque tokens of keyset pagination. A token
// carries a few text fields (the sort order it belongs to and the position
// of the last row of a page); it is base64url text with a checksum, so a
// token damaged in transit or edited by hand is refused instead of quietly
// starting somewhere else. Tokens carry no authority: a page a token can
// reach is a page its caller may already list, so no secret is needed.
package cursor

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
)

// ErrInvalid is returned for a token that was not made by Encode with the
// expected number of fields.
var ErrInvalid = errors.New("malformed or altered cursor")

const sumLen = 6

var enc = base64.RawURLEncoding.Strict()

// Encode returns the token of fields.
func Encode(fields ...string) string {
	payload, _ := json.Marshal(fields) // a []string always marshals
	sum := sha256.Sum256(payload)
	return enc.EncodeToString(append(payload, sum[:sumLen]...))
}

// Decode returns the n fields of token, or ErrInvalid.
func Decode(token string, n int) ([]string, error) {
	raw, err := enc.DecodeString(token)
	if err != nil || len(raw) <= sumLen {
		return nil, ErrInvalid
	}
	payload, sum := raw[:len(raw)-sumLen], raw[len(raw)-sumLen:]
	want := sha256.Sum256(payload)
	if !bytes.Equal(sum, want[:sumLen]) {
		return nil, ErrInvalid
	}
	var fields []string
	if err := json.Unmarshal(payload, &fields); err != nil || len(fields) != n {
		return nil, ErrInvalid
	}
	return fields, nil
}

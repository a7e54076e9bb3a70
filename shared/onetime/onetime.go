// Package onetime holds the one-time tokens that mail carries (address
// verification, recovery): how one is made, what is stored of it, the one
// check every use of one goes through, and the messages that carry them.
package onetime

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Purpose is what a token may be used for.
type Purpose string

// The purposes.
const (
	VerifyEmail Purpose = "verify_email"
	Recovery    Purpose = "recovery"
)

// Token is what is stored of a one-time token: the SHA-256 of its secret
// (never the secret), whose it is, what for, the address it was sent to,
// when it expires and when it was used (zero: not yet).
type Token struct {
	ID        []byte
	UserID    uuid.UUID
	Purpose   Purpose
	Email     string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}

// ErrInvalid is the answer for every unusable token, whatever the reason
// (unknown, malformed, expired, used, for another purpose, for an address
// that is no longer the user's): one message for all, so that the answer
// tells nothing.
var ErrInvalid = &apperr.Error{Kind: apperr.KindInvalid, Code: "invalid_token", Message: "this link is invalid, expired or already used; ask for a new one"}

// secretLen is the random bytes of a token's secret.
const secretLen = 32

var enc = base64.RawURLEncoding

// New makes a token for u's address email, valid for ttl from now, and
// returns its secret (what the mail carries) and what is stored of it.
func New(userID uuid.UUID, purpose Purpose, email string, now time.Time, ttl time.Duration) (string, Token) {
	b := make([]byte, secretLen)
	rand.Read(b) // never fails (crypto/rand)
	secret := enc.EncodeToString(b)
	id, _ := IDOf(secret)
	now = user.Timestamp(now)
	return secret, Token{ID: id, UserID: userID, Purpose: purpose, Email: email, CreatedAt: now, ExpiresAt: now.Add(ttl)}
}

// IDOf returns the stored id of a token's secret, or false when the secret
// cannot be one (then it is ErrInvalid, without a lookup).
func IDOf(secret string) ([]byte, bool) {
	b, err := enc.Strict().DecodeString(secret)
	if err != nil || len(b) != secretLen {
		return nil, false
	}
	sum := sha256.Sum256([]byte(secret))
	return sum[:], true
}

// Check returns ErrInvalid unless t may be used now for purpose by u, its
// user: the right purpose, not used, not expired, and sent to the address
// u still has (a token for an address the user has since changed is
// void).
func (t Token) Check(purpose Purpose, u user.User, now time.Time) error {
	if t.Purpose != purpose || !t.UsedAt.IsZero() || !now.Before(t.ExpiresAt) || t.UserID != u.ID ||
		!strings.EqualFold(t.Email, u.Email) {
		return ErrInvalid
	}
	return nil
}

// Redeemer is what spending a token needs from the store, in the
// transaction of what the token allows.
type Redeemer interface {
	TokenForUpdate(ctx context.Context, id []byte) (Token, error)
	UserByIDForUpdate(ctx context.Context, id uuid.UUID) (user.User, error)
	UseToken(ctx context.Context, id []byte, now time.Time) error
}

// Redeem spends the token whose secret a link carried, for purpose, in the
// transaction in ctx: it finds and locks the token (two uses of one token
// cannot both pass) and its user, checks it (see Check), marks it used and
// returns both. Every unusable token is ErrInvalid.
func Redeem(ctx context.Context, store Redeemer, secret string, purpose Purpose, now time.Time) (Token, user.User, error) {
	t, u, err := find(ctx, store.TokenForUpdate, store.UserByIDForUpdate, secret, purpose, now)
	if err != nil {
		return Token{}, user.User{}, err
	}
	if err := store.UseToken(ctx, t.ID, now); err != nil {
		return Token{}, user.User{}, err
	}
	return t, u, nil
}

// Finder reads a token and its user, without locking either.
type Finder interface {
	Token(ctx context.Context, id []byte) (Token, error)
	UserByID(ctx context.Context, id uuid.UUID) (user.User, error)
}

// Find returns the token whose secret a link carried and its user, if it
// may be used now for purpose (see Check), without spending or locking
// anything: a look before work that only a usable token is worth (hashing
// a new password), so that an unusable one costs none. Redeem spends it
// afterwards, in the change's transaction, and checks it again. Every
// unusable token is ErrInvalid.
func Find(ctx context.Context, store Finder, secret string, purpose Purpose, now time.Time) (Token, user.User, error) {
	return find(ctx, store.Token, store.UserByID, secret, purpose, now)
}

// find reads the token of secret and its user with token and userByID, and
// checks it for purpose.
func find(ctx context.Context, token func(context.Context, []byte) (Token, error), userByID func(context.Context, uuid.UUID) (user.User, error),
	secret string, purpose Purpose, now time.Time,
) (Token, user.User, error) {
	id, ok := IDOf(secret)
	if !ok {
		return Token{}, user.User{}, ErrInvalid
	}
	t, err := token(ctx, id)
	if err != nil {
		return Token{}, user.User{}, err
	}
	u, err := userByID(ctx, t.UserID)
	if errors.Is(err, user.ErrNotFound) {
		return Token{}, user.User{}, ErrInvalid
	}
	if err != nil {
		return Token{}, user.User{}, err
	}
	if err := t.Check(purpose, u, now); err != nil {
		return Token{}, user.User{}, err
	}
	return t, u, nil
}

// Links makes the links of messages: URL templates with {token} in their
// fragment (never in a query string, so a token reaches no server log or
// Referer), and how long each kind of token lives.
type Links struct {
	VerificationURL string
	VerificationTTL time.Duration
	RecoveryURL     string
	RecoveryTTL     time.Duration
}

// Recovery returns the token and the message that let u set a new
// password: store the one and queue the other in one transaction (Send).
func (l Links) Recovery(u user.User, now time.Time) (Token, mail.Message) {
	return message(u, u.Email, Recovery, l.RecoveryURL, l.RecoveryTTL, now)
}

// Verification returns the token and the message that ask u to confirm
// the address email: store the one and queue the other in the transaction
// that sets the address (through Verifications, which bounds them).
func (l Links) Verification(u user.User, email string, now time.Time) (Token, mail.Message) {
	return message(u, email, VerifyEmail, l.VerificationURL, l.VerificationTTL, now)
}

// message makes a token for purpose and the message of the same name that
// carries it to email, its link urlTemplate with the token for {token}.
func message(u user.User, email string, purpose Purpose, urlTemplate string, ttl time.Duration, now time.Time) (Token, mail.Message) {
	secret, t := New(u.ID, purpose, email, now, ttl)
	return t, mail.Message{
		Template: string(purpose),
		To:       email,
		Fields: map[string]string{
			"username":  u.Username,
			"link":      strings.ReplaceAll(urlTemplate, "{token}", secret),
			"valid_for": ValidFor(ttl),
		},
		Secret:  true,
		Expires: t.ExpiresAt,
	}
}

// TokenStore stores a token (in the transaction in ctx).
type TokenStore interface {
	InsertToken(ctx context.Context, t Token) error
}

// Mailer queues a message (in the transaction in ctx).
type Mailer interface {
	Queue(ctx context.Context, m mail.Message) error
}

// Send stores t and queues m, the message that carries it, in the
// transaction in ctx.
func Send(ctx context.Context, store TokenStore, mailer Mailer, t Token, m mail.Message) error {
	if err := store.InsertToken(ctx, t); err != nil {
		return err
	}
	return mailer.Queue(ctx, m)
}

// ValidFor says a lifetime the way a message tells it: "24 hours",
// "1 hour", "30 minutes".
func ValidFor(d time.Duration) string {
	unit, n := "minute", int(d.Round(time.Minute)/time.Minute)
	if d >= time.Hour && d%time.Hour == 0 {
		unit, n = "hour", int(d/time.Hour)
	}
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// Package mail is what the service tells users by email: the message a
// slice queues through its own port, in the transaction of the change that
// causes it. Rendering and delivery are platform/mailer's.
package mail

import (
	"time"

	"github.com/cleanslice/cleanslice/shared/user"
)

// Message is one message to queue.
type Message struct {
	Template string            // which message: "verify_email", ...
	To       string            // the address
	Fields   map[string]string // what the template shows: the username, a link, ...
	// Secret: the message carries a one-time token; its body is erased from
	// the outbox once sent or given up.
	Secret bool
	// Expires is when the message is no longer worth sending (its token's
	// expiry); zero for no limit.
	Expires time.Time
}

// Domain is the part of address after its last @: all that logs show of
// an address.
func Domain(address string) string {
	for i := len(address) - 1; i >= 0; i-- {
		if address[i] == '@' {
			return address[i+1:]
		}
	}
	return ""
}

// PasswordChanged is the notice of a password change to a user's verified
// address (none when the user has none): how says who changed it, as the
// message tells it ("by you", "by an administrator", "with a recovery
// link").
func PasswordChanged(u user.User, how string) (Message, bool) {
	if !u.EmailVerified() {
		return Message{}, false
	}
	return Message{Template: "password_changed", To: u.Email, Fields: map[string]string{"username": u.Username, "how": how}}, true
}

// SecondFactorChanged is the notice of a change to a user's second
// factors to their verified address (none when the user has none): what
// says what changed, as the message tells it ("an authenticator app was
// added"). Someone holding a stolen password and session could otherwise
// add their own factor unseen.
func SecondFactorChanged(u user.User, what string) (Message, bool) {
	if !u.EmailVerified() {
		return Message{}, false
	}
	return Message{Template: "second_factor_changed", To: u.Email, Fields: map[string]string{"username": u.Username, "what": what}}, true
}

// AccountDeleted is the farewell notice of a deleted account to its
// verified address (none when it has none): the last word to the
// address, should the deletion not have been the owner's.
func AccountDeleted(u user.User) (Message, bool) {
	if !u.EmailVerified() {
		return Message{}, false
	}
	return Message{Template: "account_deleted", To: u.Email, Fields: map[string]string{"username": u.Username}}, true
}

// IdentityLinked is the notice of an identity provider's account linked
// to a user's (by them, or by its verified address) to their verified
// address (none when the user has none): a provider account someone else
// controls now signs in to theirs.
func IdentityLinked(u user.User, provider string) (Message, bool) {
	return identityNotice("identity_linked", u, provider)
}

// IdentityUnlinked is the notice of an identity provider's account
// unlinked from a user's to their verified address (none when there is
// none).
func IdentityUnlinked(u user.User, provider string) (Message, bool) {
	return identityNotice("identity_unlinked", u, provider)
}

func identityNotice(template string, u user.User, provider string) (Message, bool) {
	if !u.EmailVerified() {
		return Message{}, false
	}
	return Message{Template: template, To: u.Email, Fields: map[string]string{"username": u.Username, "provider": provider}}, true
}

// APIKeyCreated is the notice of a new API key to a user's verified
// address (none when the user has none): its name, prefix, scope and
// expiry. A key acts as its user: someone holding a stolen session could
// otherwise mint one unseen.
func APIKeyCreated(u user.User, name, prefix, scope string, expires time.Time) (Message, bool) {
	if !u.EmailVerified() {
		return Message{}, false
	}
	return Message{Template: "api_key_created", To: u.Email, Fields: map[string]string{
		"username": u.Username, "name": name, "prefix": prefix, "scope": scope, "expires": expires.UTC().Format("2006-01-02 15:04 UTC"),
	}}, true
}

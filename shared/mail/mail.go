// Package mail is what the service tells users by email: the message a
// slice queues through its own port, in the transaction of the change that
// causes it. Rendering and delivery are platform/mailer's.
package mail

import "time"

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

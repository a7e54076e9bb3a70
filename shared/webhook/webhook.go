// Package webhook defines the endpoints that receive the audit trail's
// events (SPEC 4e): which events an endpoint subscribes to, which URLs and
// addresses it may have, its signing secrets and the body of a delivery.
// An event is queued for its subscribers in the transaction that records
// it (the store does that with the event), and a delivery loop sends it;
// the slices register, change and inspect endpoints.
package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"slices"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Endpoint is a receiver of events. Its signing secret is not here: it is
// shown once (at creation and rotation) and stored sealed.
type Endpoint struct {
	ID          uuid.UUID
	URL         string
	Description string
	// Events are the audit event types it subscribes to, sorted, or
	// AllEvents alone.
	Events    []string
	Enabled   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// AllEvents subscribes to every event type, those added later included.
const AllEvents = "*"

// TestEvent is the type of the delivery the test route queues to one
// endpoint, whatever it subscribes to. It is not an audit event: nothing
// is recorded, and no other endpoint receives it.
const TestEvent = "webhook.test"

// Limits of an endpoint's fields.
const (
	MaxURLLen         = 2048
	MaxDescriptionLen = 256
)

// ErrNotFound is an endpoint (or a delivery of it) that does not exist.
var ErrNotFound = &apperr.Error{Kind: apperr.KindNotFound, Code: "webhook_not_found", Message: "no such webhook"}

// ParseEvents checks a subscription: a non-empty list of audit event
// types, or AllEvents alone. It returns the types sorted, each once.
func ParseEvents(events []string) ([]string, error) {
	bad := func(msg string) error {
		return apperr.Invalid(apperr.FieldError{Field: "events", Message: msg})
	}
	if len(events) == 0 {
		return nil, bad("events must list at least one event type, or \"*\"")
	}
	out := make([]string, 0, len(events))
	for _, e := range events {
		switch {
		case e == AllEvents && len(events) == 1:
		case e == AllEvents:
			return nil, bad("\"*\" subscribes to every event type and stands alone")
		case !audit.Type(e).Valid():
			return nil, bad("unknown event type " + quote(e))
		}
		out = append(out, e)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// CheckDescription checks an endpoint's description: at most
// MaxDescriptionLen bytes, plain text (user.PlainText).
func CheckDescription(d string) error {
	switch {
	case len(d) > MaxDescriptionLen:
		return apperr.Invalid(apperr.FieldError{Field: "description", Message: "description must be at most 256 bytes"})
	case !user.PlainText(d):
		return apperr.Invalid(apperr.FieldError{Field: "description", Message: "description must not contain control or invisible formatting characters"})
	}
	return nil
}

// Secret is a signing secret as receivers hold it: "whsec_" and the base64
// of 32 random bytes (Standard Webhooks).
type Secret string

// SecretPrefix starts every secret.
const SecretPrefix = "whsec_"

// NewSecret returns a new random signing secret.
func NewSecret() Secret {
	b := make([]byte, 32)
	rand.Read(b)
	return Secret(SecretPrefix + base64.StdEncoding.EncodeToString(b))
}

// SecretOverlap is how long a replaced secret still signs after a
// rotation, so that receivers can move to the new one at their pace.
const SecretOverlap = 24 * time.Hour

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return `"` + s + `"`
}

// Delivery is one event on its way to one endpoint. Its id is the
// webhook-id receivers deduplicate by: the audit event's id (a test's
// own), the same on every attempt.
type Delivery struct {
	ID        uuid.UUID
	EventType string
	CreatedAt time.Time
	Attempts  int
	// LastStatus is the HTTP status of the last attempt; 0 when there was
	// none, or no answer.
	LastStatus int
	// NextAttemptAt is when it is due; zero once delivered or given up.
	NextAttemptAt time.Time
	DeliveredAt   time.Time
	GivenUpAt     time.Time
}

// ParseID reads an endpoint's or a delivery's id as a client wrote it: a
// malformed one is ErrNotFound, as an unknown one is.
func ParseID(s string) (uuid.UUID, error) {
	id, err := uuid.FromString(s)
	if err != nil || id.IsNil() {
		return uuid.Nil, ErrNotFound
	}
	return id, nil
}

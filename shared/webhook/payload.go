package webhook

import (
	"encoding/json"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/user"
	"github.com/cleanslice/cleanslice/shared/userjson"
)

// The body of a delivery (Standard Webhooks): the event's type, when it
// occurred, and the event as the audit API shows it without the client's
// ip, user agent and request id, plus the user object of its target as it
// was when the event was recorded. Nothing else: no tokens, hashes or
// cookies, and no address but the user object's.
type payload struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      data      `json:"data"`
}

type data struct {
	ID         uuid.UUID      `json:"id"`
	OccurredAt time.Time      `json:"occurred_at"`
	Type       string         `json:"type"`
	Actor      *party         `json:"actor"`
	Target     *party         `json:"target"`
	Details    map[string]any `json:"details"`
	User       *userjson.User `json:"user"`
}

type party struct {
	ID       uuid.UUID `json:"id"`
	Username string    `json:"username"`
}

func partyOf(p audit.Party) *party {
	if p.ID.IsNil() {
		return nil
	}
	return &party{ID: p.ID, Username: p.Username}
}

// Payload returns the body of e's deliveries. e's parties carry their
// usernames; target is the user e names as its target, nil for none.
func Payload(e audit.Event, target *user.User) ([]byte, error) {
	d := data{ID: e.ID, OccurredAt: e.OccurredAt.UTC(), Type: string(e.Type), Actor: partyOf(e.Actor), Target: partyOf(e.Target), Details: e.Details}
	if d.Details == nil {
		d.Details = map[string]any{}
	}
	if target != nil {
		u := userjson.From(*target)
		d.User = &u
	}
	return json.Marshal(payload{Type: string(e.Type), Timestamp: d.OccurredAt, Data: d})
}

// TestPayload returns the body of a test delivery to endpoint, asked for
// by actor at now: shaped like an event's, of type TestEvent, its id the
// delivery's.
func TestPayload(id, endpoint uuid.UUID, actor audit.Party, now time.Time) ([]byte, error) {
	return Payload(audit.Event{ID: id, OccurredAt: now, Type: TestEvent, Actor: actor,
		Details: map[string]any{"webhook": endpoint.String()}}, nil)
}

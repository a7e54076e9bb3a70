// Package webhookjson is the webhook endpoint object of the API (SPEC 5):
// the one JSON shape of an endpoint that every slice answering with one
// writes. It never holds a secret: the slices that show one (creation,
// rotation) add it beside.
package webhookjson

import (
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/webhook"
)

// Endpoint is an endpoint as the API shows it.
type Endpoint struct {
	ID          uuid.UUID `json:"id"`
	URL         string    `json:"url"`
	Events      []string  `json:"events"`
	Description string    `json:"description"`
	Enabled     bool      `json:"enabled"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// From returns e as the API shows it.
func From(e webhook.Endpoint) Endpoint {
	events := e.Events
	if events == nil {
		events = []string{}
	}
	return Endpoint{ID: e.ID, URL: e.URL, Events: events, Description: e.Description, Enabled: e.Enabled,
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
}

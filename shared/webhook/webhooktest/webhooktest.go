// Package webhooktest is a hand-written fake of the webhook tables for the
// unit tests of the webhook slices: endpoints by id with their sealed
// secrets, deliveries, and the audit trail (a rolled-back transaction
// drops its events, and its changes to endpoints and deliveries too).
package webhooktest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit/audittest"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/webhook"
)

// Delivery is a stored delivery, its body with it.
type Delivery struct {
	webhook.Delivery
	Endpoint uuid.UUID
	Payload  []byte
}

// Endpoints is the fake store.
type Endpoints struct {
	audittest.Trail
	Endpoints map[uuid.UUID]webhook.Endpoint
	// Secrets are the sealed secrets: the current one, then the previous.
	Secrets    map[uuid.UUID][][]byte
	Deliveries []Delivery
	// PasswordHash is the caller's current hash: LockUserWithPassword
	// reports whether the password checked is still it.
	PasswordHash string
	// Locked lists the endpoints locked for update, in order.
	Locked []uuid.UUID
}

// New returns an empty store; the caller's password hash is "hash:pw".
func New() *Endpoints {
	return &Endpoints{Endpoints: map[uuid.UUID]webhook.Endpoint{}, Secrets: map[uuid.UUID][][]byte{}, PasswordHash: "hash:pw"}
}

// WithinTx runs fn; when it fails, what it changed is undone.
func (f *Endpoints) WithinTx(ctx context.Context, fn func(ctx context.Context) error) error {
	endpoints, secrets, deliveries := maps.Clone(f.Endpoints), maps.Clone(f.Secrets), slices.Clone(f.Deliveries)
	err := f.Trail.WithinTx(ctx, fn)
	if err != nil {
		f.Endpoints, f.Secrets, f.Deliveries = endpoints, secrets, deliveries
	}
	return err
}

// LockUserWithPassword reports whether the caller still has hash.
func (f *Endpoints) LockUserWithPassword(_ context.Context, _ uuid.UUID, hash string) (bool, error) {
	return hash == f.PasswordHash, nil
}

// Factors reports no second factor.
func (f *Endpoints) Factors(context.Context, uuid.UUID) (mfa.Factors, error) {
	return mfa.Factors{}, nil
}

// InsertWebhookEndpoint stores e.
func (f *Endpoints) InsertWebhookEndpoint(_ context.Context, e webhook.Endpoint, sealed []byte) error {
	f.Endpoints[e.ID] = e
	f.Secrets[e.ID] = [][]byte{sealed}
	return nil
}

// WebhookEndpoints returns every endpoint, by id.
func (f *Endpoints) WebhookEndpoints(context.Context) ([]webhook.Endpoint, error) {
	out := slices.Collect(maps.Values(f.Endpoints))
	slices.SortFunc(out, func(a, b webhook.Endpoint) int { return strings.Compare(a.ID.String(), b.ID.String()) })
	return out, nil
}

// WebhookEndpoint returns an endpoint.
func (f *Endpoints) WebhookEndpoint(_ context.Context, id uuid.UUID) (webhook.Endpoint, error) {
	e, ok := f.Endpoints[id]
	if !ok {
		return webhook.Endpoint{}, fmt.Errorf("webhook %s: %w", id, webhook.ErrNotFound)
	}
	return e, nil
}

// WebhookEndpointForUpdate returns an endpoint, noting the lock.
func (f *Endpoints) WebhookEndpointForUpdate(ctx context.Context, id uuid.UUID) (webhook.Endpoint, error) {
	f.Locked = append(f.Locked, id)
	return f.WebhookEndpoint(ctx, id)
}

// UpdateWebhookEndpoint stores e over the endpoint of its id.
func (f *Endpoints) UpdateWebhookEndpoint(_ context.Context, e webhook.Endpoint) error {
	if _, ok := f.Endpoints[e.ID]; !ok {
		return webhook.ErrNotFound
	}
	f.Endpoints[e.ID] = e
	return nil
}

// RotateWebhookSecret puts sealed before the current secret.
func (f *Endpoints) RotateWebhookSecret(_ context.Context, id uuid.UUID, sealed []byte, _, _ time.Time) error {
	if _, ok := f.Endpoints[id]; !ok {
		return webhook.ErrNotFound
	}
	f.Secrets[id] = [][]byte{sealed, f.Secrets[id][0]}
	return nil
}

// DeleteWebhookEndpoint removes an endpoint and its deliveries.
func (f *Endpoints) DeleteWebhookEndpoint(_ context.Context, id uuid.UUID) error {
	if _, ok := f.Endpoints[id]; !ok {
		return webhook.ErrNotFound
	}
	delete(f.Endpoints, id)
	delete(f.Secrets, id)
	f.Deliveries = slices.DeleteFunc(f.Deliveries, func(d Delivery) bool { return d.Endpoint == id })
	return nil
}

// QueueWebhookTest stores a test delivery.
func (f *Endpoints) QueueWebhookTest(_ context.Context, endpointID, id uuid.UUID, payload []byte, now time.Time) error {
	f.Deliveries = append(f.Deliveries, Delivery{Delivery: webhook.Delivery{ID: id, EventType: webhook.TestEvent, CreatedAt: now, NextAttemptAt: now},
		Endpoint: endpointID, Payload: payload})
	return nil
}

// WebhookDeliveries returns an endpoint's deliveries, newest first, after
// the id after (Nil: from the newest).
func (f *Endpoints) WebhookDeliveries(_ context.Context, endpointID, after uuid.UUID, limit int) ([]webhook.Delivery, error) {
	var out []webhook.Delivery
	for _, d := range f.Deliveries {
		if d.Endpoint == endpointID && (after.IsNil() || d.ID.String() < after.String()) {
			out = append(out, d.Delivery)
		}
	}
	slices.SortFunc(out, func(a, b webhook.Delivery) int { return strings.Compare(b.ID.String(), a.ID.String()) })
	return out[:min(limit, len(out))], nil
}

// RetryWebhookDelivery makes a delivery due at now.
func (f *Endpoints) RetryWebhookDelivery(_ context.Context, endpointID, id uuid.UUID, now time.Time) (bool, error) {
	for k, d := range f.Deliveries {
		if d.Endpoint == endpointID && d.ID == id {
			f.Deliveries[k].NextAttemptAt, f.Deliveries[k].DeliveredAt, f.Deliveries[k].GivenUpAt = now, time.Time{}, time.Time{}
			return true, nil
		}
	}
	return false, nil
}

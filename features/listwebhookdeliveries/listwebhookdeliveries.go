// Package listwebhookdeliveries lets a super admin page through a webhook
// endpoint's deliveries, newest first: the event type, the attempts made,
// the last answer's status, and when the next attempt is due, or when it
// was delivered or given up. Never a body or a receiver's answer.
package listwebhookdeliveries

import (
	"context"
	"fmt"
	"strconv"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/cursor"
	"github.com/cleanslice/cleanslice/shared/user"
	"github.com/cleanslice/cleanslice/shared/webhook"
)

// Limits of a page.
const (
	DefaultLimit = 50
	MaxLimit     = 100
)

// Interactor lists deliveries.
type Interactor struct{ store Store }

// New returns the interactor.
func New(store Store) *Interactor { return &Interactor{store: store} }

// Input is the endpoint and the page, as the client wrote them (empty:
// absent).
type Input struct {
	Endpoint, Limit, Cursor string
}

// Result is one page.
type Result struct {
	Deliveries []webhook.Delivery
	// NextCursor continues after this page; empty on the last page.
	NextCursor string
}

// Execute checks the page's parameters and returns it.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) (Result, error) {
	if err := auth.Require(actor, user.RoleSuperAdmin); err != nil {
		return Result{}, err
	}
	endpoint, err := webhook.ParseID(in.Endpoint)
	if err != nil {
		return Result{}, err
	}
	limit, after, err := page(endpoint, in)
	if err != nil {
		return Result{}, err
	}
	if _, err := i.store.WebhookEndpoint(ctx, endpoint); err != nil {
		return Result{}, fmt.Errorf("list webhook deliveries: %w", err)
	}
	list, err := i.store.WebhookDeliveries(ctx, endpoint, after, limit+1)
	if err != nil {
		return Result{}, fmt.Errorf("list webhook deliveries of %s: %w", endpoint, err)
	}
	var res Result
	if len(list) > limit {
		list = list[:limit]
		res.NextCursor = cursor.Encode(endpoint.String(), list[limit-1].ID.String())
	}
	res.Deliveries = list
	return res, nil
}

// page reads the limit and the cursor (made for this endpoint), listing
// every bad one.
func page(endpoint uuid.UUID, in Input) (int, uuid.UUID, error) {
	var fields []apperr.FieldError
	limit := DefaultLimit
	if in.Limit != "" {
		n, err := strconv.Atoi(in.Limit)
		if err != nil || n < 1 || n > MaxLimit {
			fields = append(fields, apperr.FieldError{Field: "limit", Message: "limit must be a whole number from 1 to 100"})
		}
		limit = n
	}
	var after uuid.UUID
	if in.Cursor != "" {
		f, err := cursor.Decode(in.Cursor, 2)
		if err == nil && f[0] == endpoint.String() {
			after, err = uuid.FromString(f[1])
		}
		if err != nil || f[0] != endpoint.String() || after.IsNil() {
			fields = append(fields, apperr.FieldError{Field: "cursor", Message: "cursor is not one this list gave"})
		}
	}
	if len(fields) > 0 {
		return 0, uuid.Nil, apperr.Invalid(fields...)
	}
	return limit, after, nil
}

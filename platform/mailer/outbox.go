package mailer

import (
	"context"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/mail"
)

// OutboxStore stores a rendered message (in the transaction in ctx).
type OutboxStore interface {
	InsertMail(ctx context.Context, m sqlstore.Mail) error
}

// Outbox is the slices' Queue: it renders a message and stores it in the
// transaction of the change that causes it, so that a change that rolls
// back sends nothing and one that commits is always sent. Nothing here
// waits for a mail server.
type Outbox struct {
	store     OutboxStore
	templates *Templates
	now       func() time.Time
}

// NewOutbox returns the outbox.
func NewOutbox(store OutboxStore, templates *Templates, now func() time.Time) *Outbox {
	return &Outbox{store: store, templates: templates, now: now}
}

// Queue renders m and stores it, due at once.
func (o *Outbox) Queue(ctx context.Context, m mail.Message) error {
	subject, text, html, err := o.templates.Render(m.Template, m.Fields)
	if err != nil {
		return fmt.Errorf("queue %s: %w", m.Template, err)
	}
	return o.store.InsertMail(ctx, sqlstore.Mail{
		ID: uuid.Must(uuid.NewV7()), Template: m.Template, To: m.To, Subject: subject, Text: text, HTML: html,
		Secret: m.Secret, CreatedAt: o.now(), ExpiresAt: m.Expires,
	})
}

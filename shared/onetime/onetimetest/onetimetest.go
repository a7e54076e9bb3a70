// Package onetimetest is a hand-written fake of the token store and the
// mail queue for the unit tests of the slices that send tokens: embed an
// Outbox in a fake store and pass the same value as the Mailer.
package onetimetest

import (
	"context"

	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/onetime"
)

// Outbox keeps the tokens stored and the messages queued.
type Outbox struct {
	Tokens   []onetime.Token
	Messages []mail.Message
}

// InsertToken keeps t.
func (o *Outbox) InsertToken(_ context.Context, t onetime.Token) error {
	o.Tokens = append(o.Tokens, t)
	return nil
}

// Queue keeps m.
func (o *Outbox) Queue(_ context.Context, m mail.Message) error {
	o.Messages = append(o.Messages, m)
	return nil
}

package mailer

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/mail"
)

// DeliveryStore is the outbox as the delivery loop works it.
type DeliveryStore interface {
	ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]sqlstore.Mail, error)
	MailSent(ctx context.Context, id uuid.UUID, now time.Time) error
	MailRetry(ctx context.Context, id uuid.UUID, next time.Time, reason string) error
	MailFailed(ctx context.Context, id uuid.UUID, now time.Time, reason string) error
}

// Delivery settings. A claim's lease outlasts the attempts of its whole
// batch (each bounded by sendTimeout, one after the other), so a message is
// attempted again only after its attempt has surely ended, or its replica
// died.
const (
	batch       = 16
	sendTimeout = 30 * time.Second
	lease       = batch*sendTimeout + 30*time.Second
	firstRetry  = 10 * time.Second
	maxRetry    = 10 * time.Minute
)

// Deliverer sends the outbox's due messages. Every replica runs one; a
// claim takes each message for one replica at a time.
type Deliverer struct {
	Store       DeliveryStore
	Transport   Transport
	From        string
	MaxAttempts int
	Log         *slog.Logger
	// Observe, when set, counts each result by template: sent, retried or
	// failed.
	Observe func(template, result string)
	Now     func() time.Time
}

// Run delivers due messages every poll until ctx ends. A failed round is
// logged and tried again at the next tick.
func (d *Deliverer) Run(ctx context.Context, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for {
			n, err := d.DeliverDue(ctx)
			if err != nil {
				if ctx.Err() == nil {
					d.Log.Warn("mail delivery: claim", "error", err)
				}
				break
			}
			if n < batch {
				break // the outbox is drained; a full batch: look again at once
			}
		}
	}
}

// DeliverDue claims up to a batch of due messages and attempts each,
// recording every result; it returns how many it claimed.
func (d *Deliverer) DeliverDue(ctx context.Context) (int, error) {
	due, err := d.Store.ClaimMail(ctx, d.Now(), lease, batch)
	if err != nil {
		return 0, err
	}
	for _, m := range due {
		d.attempt(ctx, m)
	}
	return len(due), nil
}

// attempt sends m once and records the result: sent; retried after a
// doubling back-off (10 s, 20 s, ... at most 10 min); or given up after
// MaxAttempts, past the message's expiry, or at once when the server
// refused it for good. A result that cannot be recorded is logged: the
// lease then brings the message back (sent twice rather than lost).
func (d *Deliverer) attempt(ctx context.Context, m sqlstore.Mail) {
	now := d.Now()
	log := d.Log.With("mail_id", m.ID.String(), "template", m.Template, "domain", mail.Domain(m.To), "attempt", m.Attempts)
	var err error
	if m.ExpiresAt.IsZero() || now.Before(m.ExpiresAt) {
		sctx, cancel := context.WithTimeout(ctx, sendTimeout)
		err = d.Transport.Send(sctx, Envelope{From: d.From, To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML})
		cancel()
		now = d.Now()
	} else {
		err = errExpired
	}
	// The results are recorded even when ctx ends (shutdown): a sent
	// message is not to be sent again.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	next := now.Add(retryDelay(m.Attempts))
	var result string
	var rerr error
	switch {
	case err == nil:
		result, rerr = "sent", d.Store.MailSent(rctx, m.ID, now)
		log.Info("mail sent")
	case errors.Is(err, ErrPermanent), errors.Is(err, errExpired), m.Attempts >= d.MaxAttempts,
		!m.ExpiresAt.IsZero() && !next.Before(m.ExpiresAt):
		reason := Redact(err.Error(), m.To)
		result, rerr = "failed", d.Store.MailFailed(rctx, m.ID, now, reason)
		log.Warn("mail given up", "error", reason)
	default:
		reason := Redact(err.Error(), m.To)
		result, rerr = "retried", d.Store.MailRetry(rctx, m.ID, next, reason)
		log.Warn("mail delivery failed; will retry", "error", reason, "retry_in", next.Sub(now).String())
	}
	if rerr != nil {
		log.Error("mail delivery: record the result", "result", result, "error", rerr)
		return
	}
	if d.Observe != nil {
		d.Observe(m.Template, result)
	}
}

var errExpired = errors.New("expired before it could be sent")

// Redact returns a delivery error's text as it may be logged and stored
// (the outbox's last_error): with the recipient, and anything else that
// looks like an address, replaced by "[address]". An SMTP refusal keeps
// its command, code and the server's words, which often repeat the
// recipient ("550 5.1.1 <bob@example.com>: user unknown"), as the mail
// library's own message does ("affected recipient(s): ...").
func Redact(reason, recipient string) string {
	if recipient != "" {
		reason = replaceFold(reason, recipient, "[address]")
	}
	return addressLike.ReplaceAllString(reason, "[address]")
}

// addressLike is a run of characters around an @ that an address may hold
// unquoted.
var addressLike = regexp.MustCompile(`[^\s<>"'()\[\],;:@]+@[^\s<>"'()\[\],;:@]+`)

// replaceFold replaces every occurrence of old in s, ignoring ASCII case
// (addresses are ASCII), by repl.
func replaceFold(s, old, repl string) string {
	var b strings.Builder
	lower, lowerOld := asciiLower(s), asciiLower(old)
	for {
		i := strings.Index(lower, lowerOld)
		if i < 0 || old == "" {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(repl)
		s, lower = s[i+len(old):], lower[i+len(old):]
	}
}

// asciiLower folds A-Z alone, byte by byte: the result has s's length.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// retryDelay is the wait after the attempts-th failed attempt.
func retryDelay(attempts int) time.Duration {
	d := firstRetry
	for range attempts - 1 {
		if d *= 2; d >= maxRetry {
			return maxRetry
		}
	}
	return d
}

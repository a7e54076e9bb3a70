package mailer_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/mailer"
	"github.com/cleanslice/cleanslice/platform/mailtest"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/mail"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func fields(link string) map[string]string {
	return map[string]string{"username": "alice.smith", "link": link, "valid_for": "24 hours"}
}

func TestTemplates(t *testing.T) {
	tpl, err := mailer.LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	subject, text, html, err := tpl.Render("verify_email", fields(`http://x/verify#token=<b>`))
	if err != nil || subject != "Confirm your email address" || !strings.Contains(text, "http://x/verify#token=<b>") ||
		!strings.Contains(html, "token=%3cb%3e") || strings.Contains(html, "<b>") {
		t.Fatalf("render: %q / %q / %q, %v", subject, text, html, err)
	}
	if _, _, _, err := tpl.Render("verify_email", map[string]string{"username": "x"}); err == nil {
		t.Fatal("a message without the template's fields rendered")
	}

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "verify_email.subject"), []byte("Bitte bestätigen, {{.username}}\n"), 0o600)
	tpl, err = mailer.LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	if subject, _, _, _ := tpl.Render("verify_email", fields("l")); subject != "Bitte bestätigen, alice.smith" {
		t.Fatalf("the folder's subject was not used: %q", subject)
	}
	for name, broken := range map[string]string{"verify_email.txt": "{{.username", "verify_email.html": "{{.nonsense}}"} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, name), []byte(broken), 0o600)
		if _, err := mailer.LoadTemplates(dir); err == nil || !strings.Contains(err.Error(), "verify_email") {
			t.Errorf("a broken %s loaded: %v", name, err)
		}
	}
}

func TestSMTPTransport(t *testing.T) {
	srv := mailtest.Start(t)
	tr, err := mailer.NewSMTPTransport(mailer.SMTP{URL: srv.URL(), TLS: "none", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e := mailer.Envelope{From: "cleanslice <no-reply@localhost>", To: "alice@example.com", Subject: "Hello", Text: "plain body", HTML: "<p>html body</p>"}
	if err := tr.Send(ctx, e); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()
	if len(got) != 1 || got[0].To != "alice@example.com" || got[0].From != "no-reply@localhost" ||
		!strings.Contains(got[0].Data, "Subject: Hello") || !strings.Contains(got[0].Data, "plain body") || !strings.Contains(got[0].Data, "<p>html body</p>") {
		t.Fatalf("received %+v", got)
	}
	srv.Refuse(550)
	if err := tr.Send(ctx, e); !errors.Is(err, mailer.ErrPermanent) {
		t.Fatalf("550: %v, want permanent", err)
	}
	srv.Refuse(451)
	if err := tr.Send(ctx, e); err == nil || errors.Is(err, mailer.ErrPermanent) {
		t.Fatalf("451: %v, want a failure worth retrying", err)
	}
	srv.Stop()
	if err := tr.Send(ctx, e); err == nil || errors.Is(err, mailer.ErrPermanent) {
		t.Fatalf("no server: %v, want a failure worth retrying", err)
	}
	for _, bad := range []mailer.SMTP{
		{URL: "smtp://mail.example.com:25", TLS: "none"},
		{URL: "http://localhost:25", TLS: "starttls"},
		{URL: "smtp://localhost:25", TLS: "sometimes"},
	} {
		if _, err := mailer.NewSMTPTransport(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// forgetful is the store, except that recording a delivery fails: the
// replica dies between sending and recording.
type forgetful struct{ *sqlstore.Store }

func (forgetful) MailSent(context.Context, uuid.UUID, time.Time) error { return errors.New("killed") }

// TestDelivery: messages queued in a transaction are delivered by the
// loop's rounds through a mail server that is down, then back (nothing
// lost, retried after 10 s), a permanent refusal gives up at once, an
// expired message is not sent, and a delivery whose result was lost is
// sent again after its lease (at least once, never lost). Token-bearing
// bodies are gone once sent.
func TestDelivery(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			store := dbtest.Open(t, engine)
			srv := mailtest.Start(t)
			tr, err := mailer.NewSMTPTransport(mailer.SMTP{URL: srv.URL(), TLS: "none", Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			tpl, _ := mailer.LoadTemplates("")
			clk := &clock{now: t0}
			outbox := mailer.NewOutbox(store, tpl, clk.Now)
			var mu sync.Mutex
			results := map[string]int{}
			d := &mailer.Deliverer{Store: store, Transport: tr, From: "no-reply@localhost", MaxAttempts: 3,
				Log: slog.New(slog.DiscardHandler), Now: clk.Now,
				Observe: func(_, result string) { mu.Lock(); results[result]++; mu.Unlock() }}
			ctx := context.Background()
			queue := func(to string, expires time.Time) {
				t.Helper()
				err := store.WithinTx(ctx, func(ctx context.Context) error {
					return outbox.Queue(ctx, mail.Message{Template: "verify_email", To: to, Fields: fields("http://x/#token=" + to), Secret: true, Expires: expires})
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			round := func() int {
				t.Helper()
				n, err := d.DeliverDue(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}

			srv.Stop()
			queue("a@example.com", time.Time{})
			queue("b@example.com", t0.Add(time.Hour))
			if n := round(); n != 2 || results["retried"] != 2 {
				t.Fatalf("server down: %d claimed, results %v", n, results)
			}
			if n := round(); n != 0 {
				t.Fatalf("retried before 10 s: %d", n)
			}
			srv.Restart()
			clk.Add(10 * time.Second)
			if n := round(); n != 2 || len(srv.Messages()) != 2 || results["sent"] != 2 {
				t.Fatalf("server back: %d claimed, %d received, results %v", n, len(srv.Messages()), results)
			}

			srv.Refuse(550)
			queue("refused@example.com", time.Time{})
			round()
			if results["failed"] != 1 {
				t.Fatalf("a 550 was not given up at once: %v", results)
			}
			srv.Refuse(0)
			queue("late@example.com", clk.Now().Add(time.Second))
			clk.Add(2 * time.Second)
			round()
			if results["failed"] != 2 || len(srv.Messages()) != 2 {
				t.Fatalf("an expired message: results %v, %d received", results, len(srv.Messages()))
			}

			// The replica dies between sending and recording: the message
			// is sent, its result lost; after the lease it is sent again.
			queue("twice@example.com", time.Time{})
			dead := *d
			dead.Store = forgetful{store}
			if n, err := dead.DeliverDue(ctx); n != 1 || err != nil {
				t.Fatal(n, err)
			}
			clk.Add(9 * time.Minute) // past the lease: 16 attempts of 30 s and a margin
			round()
			got := srv.Messages()
			if len(got) != 4 || got[2].To != "twice@example.com" || got[3].To != "twice@example.com" {
				t.Fatalf("after a lost result: %d received", len(got))
			}
			var left int
			store.DB().QueryRow(`SELECT count(*) FROM mail_outbox WHERE text_body <> '' OR html_body <> ''`).Scan(&left)
			if left != 0 {
				t.Fatalf("%d token-bearing bodies left in the outbox", left)
			}
		})
	}
}

type down struct{}

func (down) Send(context.Context, mailer.Envelope) error { return errors.New("connection refused") }

// TestRetriesDoubleThenGiveUp: failed attempts are retried after 10 s,
// 20 s, 40 s ... (at most 10 min), and given up at the last attempt.
func TestRetriesDoubleThenGiveUp(t *testing.T) {
	store := dbtest.Open(t, "sqlite")
	tpl, _ := mailer.LoadTemplates("")
	clk := &clock{now: t0}
	var results []string
	d := &mailer.Deliverer{Store: store, Transport: down{}, MaxAttempts: 8, Log: slog.New(slog.DiscardHandler), Now: clk.Now,
		Observe: func(_, r string) { results = append(results, r) }}
	ctx := context.Background()
	if err := mailer.NewOutbox(store, tpl, clk.Now).Queue(ctx, mail.Message{Template: "verify_email", To: "a@example.com", Fields: fields("l")}); err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	for range 8 {
		var text string
		if err := store.DB().QueryRow(`SELECT next_attempt_at FROM mail_outbox`).Scan(&text); err != nil {
			t.Fatal(err)
		}
		due, err := time.Parse(time.RFC3339Nano, text)
		if err != nil {
			t.Fatal(err)
		}
		waits = append(waits, due.Sub(clk.Now()).Round(time.Second))
		clk.Add(due.Sub(clk.Now()))
		if n, err := d.DeliverDue(ctx); n != 1 || err != nil {
			t.Fatalf("attempt %d: %d claimed, %v", len(results)+1, n, err)
		}
	}
	want := "[0s 10s 20s 40s 1m20s 2m40s 5m20s 10m0s]"
	if strings.Join(results, ",") != "retried,retried,retried,retried,retried,retried,retried,failed" || toString(waits) != want {
		t.Fatalf("results %v, waits %v (want %s)", results, waits, want)
	}
}

func toString(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// TestTwoReplicasSendEachMessageOnce: two replicas' delivery loops on one
// database and one SMTP server: every message arrives exactly once.
func TestTwoReplicasSendEachMessageOnce(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			url := dbtest.URL(t, engine)
			srv := mailtest.Start(t)
			tr, err := mailer.NewSMTPTransport(mailer.SMTP{URL: srv.URL(), TLS: "none", Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			tpl, _ := mailer.LoadTemplates("")
			first := dbtest.OpenOn(t, engine, url, nil)
			ctx := context.Background()
			const n = 150
			err = first.WithinTx(ctx, func(ctx context.Context) error {
				for k := range n {
					m := mail.Message{Template: "verify_email", To: fmt.Sprintf("u%d@example.com", k), Fields: fields("l")}
					if err := mailer.NewOutbox(first, tpl, time.Now).Queue(ctx, m); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for _, store := range []*sqlstore.Store{first, dbtest.OpenOn(t, engine, url, nil)} {
				d := &mailer.Deliverer{Store: store, Transport: tr, From: "no-reply@localhost", MaxAttempts: 8, Log: slog.New(slog.DiscardHandler), Now: time.Now}
				for range 2 { // two loops per replica
					wg.Go(func() {
						for {
							k, err := d.DeliverDue(ctx)
							if err != nil {
								t.Error(err)
								return
							}
							if k == 0 {
								return
							}
						}
					})
				}
			}
			wg.Wait()
			seen := map[string]int{}
			for _, m := range srv.Messages() {
				seen[m.To]++
			}
			if len(seen) != n {
				t.Fatalf("%d of %d addresses got their message", len(seen), n)
			}
			for to, k := range seen {
				if k != 1 {
					t.Fatalf("%s got %d copies", to, k)
				}
			}
		})
	}
}

// TestSMTPTLS: STARTTLS (the default, required) and implicit TLS against a
// server with a certificate the test made; a server that offers no
// STARTTLS, or a certificate nobody vouches for, sends nothing.
func TestSMTPTLS(t *testing.T) {
	ctx := context.Background()
	e := mailer.Envelope{From: "no-reply@localhost", To: "alice@example.com", Subject: "Hello", Text: "over TLS"}
	for _, mode := range []string{"starttls", "implicit"} {
		srv, roots := mailtest.StartTLS(t, mode == "implicit")
		url := strings.Replace(srv.URL(), "127.0.0.1", "localhost", 1)
		tr, err := mailer.NewSMTPTransport(mailer.SMTP{URL: url, TLS: mode, Timeout: 5 * time.Second, RootCAs: roots})
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Send(ctx, e); err != nil || len(srv.Messages()) != 1 {
			t.Fatalf("%s: %v, %d received", mode, err, len(srv.Messages()))
		}
		untrusted, _ := mailer.NewSMTPTransport(mailer.SMTP{URL: url, TLS: mode, Timeout: 5 * time.Second})
		if err := untrusted.Send(ctx, e); err == nil || len(srv.Messages()) != 1 {
			t.Fatalf("%s with a certificate nobody vouches for: %v", mode, err)
		}
	}
	plain := mailtest.Start(t)
	tr, _ := mailer.NewSMTPTransport(mailer.SMTP{URL: strings.Replace(plain.URL(), "127.0.0.1", "localhost", 1), TLS: "starttls", Timeout: 5 * time.Second})
	if err := tr.Send(ctx, e); err == nil || len(plain.Messages()) != 0 {
		t.Fatalf("starttls to a server without it: %v, %d received", err, len(plain.Messages()))
	}
}

// TestRefusalsKeepNoAddress: a real SMTP server refuses the recipient
// (550, then 451 for another), repeating the address in its answer as
// servers do: the outbox's last_error and the log lines keep the code and
// the server's words, never the address.
func TestRefusalsKeepNoAddress(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			store := dbtest.Open(t, engine)
			srv := mailtest.Start(t)
			tr, err := mailer.NewSMTPTransport(mailer.SMTP{URL: srv.URL(), TLS: "none", Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			tpl, _ := mailer.LoadTemplates("")
			var logs strings.Builder
			var mu sync.Mutex
			d := &mailer.Deliverer{Store: store, Transport: tr, From: "no-reply@localhost", MaxAttempts: 3,
				Log: slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logs}, nil)), Now: func() time.Time { return t0 }}
			ctx := context.Background()
			outbox := mailer.NewOutbox(store, tpl, func() time.Time { return t0 })
			for _, to := range []string{"Bob.Smith@Example.com", "carol@example.org"} {
				err := store.WithinTx(ctx, func(ctx context.Context) error {
					return outbox.Queue(ctx, mail.Message{Template: "verify_email", To: to, Fields: fields("http://x/#token=t"), Secret: true})
				})
				if err != nil {
					t.Fatal(err)
				}
				code := 550
				if to == "carol@example.org" {
					code = 451
				}
				srv.RefuseRecipients(code)
				if n, err := d.DeliverDue(ctx); n != 1 || err != nil {
					t.Fatalf("delivery to %s: %d, %v", to, n, err)
				}
			}
			rows, err := store.DB().Query(`SELECT recipient, last_error, failed_at IS NOT NULL FROM mail_outbox`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			got := map[string]string{}
			for rows.Next() {
				var to, reason string
				var failed bool
				if err := rows.Scan(&to, &reason, &failed); err != nil {
					t.Fatal(err)
				}
				got[to] = fmt.Sprintf("%v %s", failed, reason)
			}
			for to, want := range map[string]string{"Bob.Smith@Example.com": "true", "carol@example.org": "false"} {
				r := got[to]
				if !strings.HasPrefix(r, want+" ") || !strings.Contains(r, "Recipient address rejected") || !strings.Contains(r, "[address]") {
					t.Errorf("%s: last_error %q, want failed %s with the server's words", to, r, want)
				}
				if strings.Contains(r, "@") || strings.Contains(strings.ToLower(r), strings.ToLower(strings.Split(to, "@")[0])) {
					t.Errorf("%s: the address is in last_error %q", to, r)
				}
			}
			if !strings.Contains(got["Bob.Smith@Example.com"], "550") || !strings.Contains(got["carol@example.org"], "451") {
				t.Errorf("the codes are lost: %v", got)
			}
			mu.Lock()
			defer mu.Unlock()
			if !strings.Contains(logs.String(), "mail given up") || strings.Contains(strings.ToLower(logs.String()), "bob.smith") || strings.Contains(logs.String(), "carol@") {
				t.Errorf("log lines:\n%s", logs.String())
			}
		})
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// TestRedact: the recipient in any case, quoted or not, and anything else
// shaped like an address, are gone; the rest stays.
func TestRedact(t *testing.T) {
	for _, c := range []struct{ in, to, want string }{
		{`550 5.1.1 <BOB@example.COM>: unknown, affected recipient(s): bob@example.com`, "bob@example.com",
			`550 5.1.1 <[address]>: unknown, affected recipient(s): [address]`},
		{`recipient: mail: no angle-addr "john doe"@Example.com`, `"John Doe"@example.com`,
			`recipient: mail: no angle-addr [address]`},
		{`550 no such user other@example.net (forwarded), id <abc@mx>`, "bob@example.com",
			`550 no such user [address] (forwarded), id <[address]>`},
		{`dial tcp 127.0.0.1:25: connection refused; ünïcode`, "bob@example.com",
			`dial tcp 127.0.0.1:25: connection refused; ünïcode`},
	} {
		if got := mailer.Redact(c.in, c.to); got != c.want {
			t.Errorf("Redact(%q, %q) = %q, want %q", c.in, c.to, got, c.want)
		}
	}
}

package mailer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Envelope is one message as a transport sends it.
type Envelope struct {
	From, To, Subject, Text, HTML string
}

// Transport delivers one message.
type Transport interface {
	Send(ctx context.Context, e Envelope) error
}

// ErrPermanent marks a failure that no retry can cure: the server refused
// the message for good (an SMTP 5xx).
var ErrPermanent = errors.New("refused for good")

// LogTransport "delivers" a message as one log line, link included: for
// development, so that `go run .` works with no mail server. Production
// refuses it (config).
type LogTransport struct{ Log *slog.Logger }

// Send writes e as one log line.
func (t LogTransport) Send(_ context.Context, e Envelope) error {
	t.Log.Info("mail (log transport: not sent)", "from", e.From, "to", e.To, "subject", e.Subject, "text", e.Text)
	return nil
}

// SMTP settings.
type SMTP struct {
	URL     string // smtp://user:pass@host:port
	TLS     string // starttls (required), implicit, none (loopback hosts only)
	Timeout time.Duration
	// RootCAs, when set, replace the system's roots for the server's
	// certificate (the tests' own CA); nil trusts the system's.
	RootCAs *x509.CertPool
}

// SMTPTransport sends through an SMTP server, a connection per message
// (the delivery loop sends few at a time; a pooled connection would have
// to survive the server's idle timeouts).
type SMTPTransport struct {
	host string
	opts []gomail.Option
}

// NewSMTPTransport checks the settings and returns the transport.
func NewSMTPTransport(s SMTP) (*SMTPTransport, error) {
	u, err := url.Parse(s.URL)
	if err != nil || u.Scheme != "smtp" || u.Hostname() == "" {
		return nil, errors.New("mail.smtp_url must be smtp://[user:password@]host[:port]")
	}
	host := u.Hostname()
	port := 587
	if s.TLS == "implicit" {
		port = 465
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, errors.New("mail.smtp_url: the port must be a number")
		}
	}
	opts := []gomail.Option{gomail.WithPort(port), gomail.WithTimeout(s.Timeout),
		gomail.WithTLSConfig(&tls.Config{ServerName: host, RootCAs: s.RootCAs, MinVersion: tls.VersionTLS12})}
	switch s.TLS {
	case "starttls":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case "implicit":
		opts = append(opts, gomail.WithSSL())
	case "none":
		if !isLoopback(host) {
			return nil, fmt.Errorf("mail.smtp_tls = none is for a server on this host only, not %s", host)
		}
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		return nil, fmt.Errorf("mail.smtp_tls must be starttls, implicit or none, not %q", s.TLS)
	}
	if u.User != nil {
		pass, _ := u.User.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	return &SMTPTransport{host: host, opts: opts}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Send delivers e. A 5xx answer is ErrPermanent; anything else (no
// connection, a 4xx, a timeout) may succeed later.
func (t *SMTPTransport) Send(ctx context.Context, e Envelope) error {
	m := gomail.NewMsg()
	if err := m.From(e.From); err != nil {
		return fmt.Errorf("%w: mail.from: %w", ErrPermanent, err)
	}
	if err := m.To(e.To); err != nil {
		return fmt.Errorf("%w: recipient: %w", ErrPermanent, err)
	}
	m.Subject(e.Subject)
	m.SetDate()
	m.SetMessageID()
	m.SetBodyString(gomail.TypeTextPlain, e.Text)
	if e.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, e.HTML)
	}
	c, err := gomail.NewClient(t.host, t.opts...)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	err = c.DialAndSendWithContext(ctx, m)
	if se := (*gomail.SendError)(nil); errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() < 600 {
		return fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	return err
}

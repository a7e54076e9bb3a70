package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/cleanslice/cleanslice/shared/egress"
	"github.com/cleanslice/cleanslice/shared/webhook"
)

// Limits of one attempt.
const (
	// Timeout bounds an attempt from its first byte to the response's
	// end: connecting, TLS, sending, the receiver's work and the reading.
	Timeout = 10 * time.Second
	// MaxResponse is how much of a response is read (then dropped; none
	// is stored or shown): enough to let the connection be reused.
	MaxResponse = 4 << 10
)

// ErrAddressRefused is a connection the dialer refused: the address is
// internal (webhook.Targets.CheckAddr).
var ErrAddressRefused = errors.New("webhook target refused")

// NewClient returns the HTTP client of deliveries: its dialer checks each
// address it is about to connect to against targets (in net.Dialer's
// Control, after DNS resolution, so a name that resolves to an internal
// address, or answers differently the second time, is refused all the
// same); it uses no proxy from the environment (the proxy's address is
// not the receiver's), follows no redirect (the 3xx is the answer, and a
// failure), and gives up after Timeout.
func NewClient(targets webhook.Targets) *http.Client {
	dialer := &net.Dialer{
		Timeout:   Timeout,
		KeepAlive: 30 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			return checkDial(targets, network, address)
		},
	}
	transport := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    16,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    Timeout,
		ResponseHeaderTimeout:  Timeout,
		MaxResponseHeaderBytes: 16 << 10,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// checkDial refuses a connection to an address targets does not allow.
// address is the IP and port being connected to.
func checkDial(targets webhook.Targets, network, address string) error {
	if err := egress.CheckDial(network, address, targets.AllowPrivate); err != nil {
		return fmt.Errorf("%w: %w", ErrAddressRefused, err)
	}
	return nil
}

// classify names an attempt's failure for the log: never the receiver's
// words, which the service does not keep.
func classify(err error) string {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, ErrAddressRefused):
		return "address refused"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "timeout"
	case errors.As(err, &dnsErr):
		return "name not resolved"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return "connection failed"
}

package oidc

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/cleanslice/cleanslice/shared/egress"
)

// The provider client's timeouts: every call to a provider (discovery,
// keys, tokens, user info, GitHub's API) ends within ClientTimeout, and
// within the request's own deadline, whichever comes first.
const (
	ClientTimeout  = 10 * time.Second
	dialTimeout    = 5 * time.Second
	headersTimeout = 5 * time.Second
	maxRedirects   = 3
	maxBody        = 1 << 20 // bytes read of any answer of a provider
)

// NewClient returns the HTTP client of every call to the providers: with
// timeouts; never following a redirect to another scheme or host (a token
// or API call carries a code, a secret or a token, which a redirect must
// not take elsewhere); never through a proxy; and, when private is false
// (production), never connecting to a loopback, private, link-local,
// unspecified or multicast address: checked on the address actually
// dialled, after name resolution, so that a configured issuer or a
// discovery document cannot make the service reach its own network
// (server-side request forgery), DNS rebinding included.
func NewClient(private bool) *http.Client {
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	if !private {
		d.Control = publicOnly
	}
	return &http.Client{
		Timeout: ClientTimeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           d.DialContext,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   dialTimeout,
			ResponseHeaderTimeout: headersTimeout,
			MaxIdleConns:          32,
			MaxIdleConnsPerHost:   8,
			IdleConnTimeout:       90 * time.Second,
		},
		CheckRedirect: sameHost,
	}
}

// ErrRedirect is a provider's redirect to another scheme or host, refused.
var ErrRedirect = errors.New("redirect to another host refused")

// sameHost follows a few redirects within the first request's scheme and
// host only.
func sameHost(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
		return fmt.Errorf("%w: %s to %s://%s", ErrRedirect, first.Host, req.URL.Scheme, req.URL.Host)
	}
	if len(via) >= maxRedirects {
		return fmt.Errorf("%d redirects: %w", len(via), ErrRedirect)
	}
	return nil
}

// ErrPrivateAddress is a connection to an address of the service's own
// networks, refused in production.
var ErrPrivateAddress = errors.New("connection to a loopback, private or link-local address refused")

// publicOnly refuses, at connect time, an address of the service's own
// networks (egress.CheckAddr: loopback, private, shared, link-local,
// reserved, and IPv4 addresses written in IPv6 judged as what they carry).
func publicOnly(network, address string, _ syscall.RawConn) error {
	if err := egress.CheckDial(network, address, false); err != nil {
		return fmt.Errorf("%w: %w", ErrPrivateAddress, err)
	}
	return nil
}

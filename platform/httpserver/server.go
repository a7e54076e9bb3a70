// Package httpserver sets up echo: middleware (request id, logging, panic
// recovery, body limit), strict JSON binding, RFC 9457 problem responses for
// every error, and a server that shuts down gracefully.
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"

	"github.com/cleanslice/cleanslice/platform/config"
)

// Options are the request-level security settings.
type Options struct {
	// TrustedOrigins may send cross-origin unsafe requests.
	TrustedOrigins []string
	// TrustedProxies (IPs or CIDRs) are believed about X-Forwarded-For;
	// without any, the client IP is the socket's peer.
	TrustedProxies []string
	// ObserveRequest, when set, is told about every request served.
	ObserveRequest func(route, method string, status int, d time.Duration)
	// RequestTimeout, when positive, is every request's deadline: its
	// context ends then, and the database work under it with it.
	RequestTimeout time.Duration
	// Foreground, when set, counts every request in flight but those of
	// Limit's routes (see Foreground).
	Foreground *Foreground
	// FormPosts are the routes (echo paths, "/api/v1/x/:id/y") whose POST
	// is a browser form from another site by design (an identity
	// provider's form_post callback): exempt from the JSON-only rule and
	// from cross-origin protection, and nothing else is.
	FormPosts []string
}

// New returns an echo instance with the middleware every route gets:
// request ids, request logging, panic recovery, CORS for the trusted
// origins, the body limit and cross-origin protection (net/http's
// CrossOriginProtection refuses unsafe cross-origin browser requests with
// 403), 415 for a state-changing request whose body is not JSON (a
// browser form cannot send JSON), and the client of a state-changing
// request in its context for the audit trail. Routes bind bodies with
// StrictJSON.
// Trailing slashes are optional.
func New(log *slog.Logger, o Options) (*echo.Echo, error) {
	cop := http.NewCrossOriginProtection()
	for _, origin := range o.TrustedOrigins {
		if err := cop.AddTrustedOrigin(origin); err != nil {
			return nil, fmt.Errorf("http.trusted_origins: %w", err)
		}
	}
	forms := map[string]bool{}
	for _, route := range o.FormPosts {
		cop.AddInsecureBypassPattern(http.MethodPost + " " + muxPattern(route))
		forms[route] = true
	}
	proxies, err := trustedRanges(o.TrustedProxies)
	if err != nil {
		return nil, err
	}
	e := echo.NewWithConfig(echo.Config{
		Logger:           log,
		HTTPErrorHandler: ErrorHandler,
		Binder:           StrictJSON{},
		IPExtractor:      clientIP(proxies),
	})
	e.Pre(trimTrailingSlash)
	e.Use(requestID(proxies), secureHeaders, logRequests(log, o.ObserveRequest), recoverPanics)
	if o.Foreground != nil {
		e.Use(countForeground(o.Foreground))
	}
	if o.RequestTimeout > 0 {
		e.Use(deadline(o.RequestTimeout))
	}
	if len(o.TrustedOrigins) > 0 {
		cors, err := corsFor(o.TrustedOrigins)
		if err != nil {
			return nil, err
		}
		// Before every middleware that can refuse a request, so that
		// refusals (413, 415, 401, ...) reach the front-end readable.
		e.Use(cors)
	}
	e.Use(limitBody, crossOrigin(cop), requireJSONBody(forms), auditSource)
	return e, nil
}

// muxPattern is an echo route path as a net/http pattern: each :name
// segment a {name} wildcard.
func muxPattern(route string) string {
	parts := strings.Split(route, "/")
	for k, p := range parts {
		if name, ok := strings.CutPrefix(p, ":"); ok {
			parts[k] = "{" + name + "}"
		}
	}
	return strings.Join(parts, "/")
}

// corsMaxAge is how long, in seconds, a browser may cache a preflight's
// answer (Chromium caps it at 2 hours).
const corsMaxAge = 7200

// corsFor returns echo's CORS middleware for origins: credentials allowed,
// the origin echoed (never *), preflights answered with the route's methods
// and the headers the API reads; the request id and Retry-After readable
// by scripts. Other origins get no CORS headers; their unsafe requests are
// then refused by crossOrigin.
func corsFor(origins []string) (echo.MiddlewareFunc, error) {
	mw, err := middleware.CORSConfig{
		AllowOrigins:     origins,
		AllowHeaders:     []string{"Content-Type", requestIDHeader},
		AllowCredentials: true,
		ExposeHeaders:    []string{requestIDHeader, "Retry-After"},
		MaxAge:           corsMaxAge,
	}.ToMiddleware()
	if err != nil {
		return nil, fmt.Errorf("http.trusted_origins: %w", err)
	}
	return mw, nil
}

// trustedRanges parses http.trusted_proxies.
func trustedRanges(proxies []string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, p := range proxies {
		n, err := ParseIPRange(p)
		if err != nil {
			return nil, fmt.Errorf("http.trusted_proxies: %w", err)
		}
		out = append(out, n)
	}
	return out, nil
}

// clientIP returns how to find the client's address: the socket's peer, or
// with trusted proxies the nearest X-Forwarded-For entry they did not add.
func clientIP(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// ParseIPRange parses a CIDR or a single IP (as a one-address range).
func ParseIPRange(s string) (*net.IPNet, error) {
	if _, n, err := net.ParseCIDR(s); err == nil {
		return n, nil
	}
	ip := net.ParseIP(s)
	if ip == nil {
		return nil, fmt.Errorf("%q is neither an IP address nor a CIDR range", s)
	}
	bits := 128
	if ip4 := ip.To4(); ip4 != nil {
		ip, bits = ip4, 32
	}
	return &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}, nil
}

func crossOrigin(cop *http.CrossOriginProtection) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			if err := cop.Check(c.Request()); err != nil {
				return NewProblem(http.StatusForbidden, "forbidden", "cross-origin request refused; add the origin to http.trusted_origins if it is yours")
			}
			return next(c)
		}
	}
}

// Server timeouts. The write timeout bounds the slowest handler, password
// hashing under load included.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = config.WriteTimeout
	idleTimeout       = 2 * time.Minute
)

// Drain says whether the process is shutting down: from the first signal
// on, the readiness probe answers 503 while requests are still served.
type Drain struct{ on atomic.Bool }

// Draining reports whether shutdown has begun.
func (d *Drain) Draining() bool { return d != nil && d.on.Load() }

// Shutdown says how Serve stops once its context is done.
type Shutdown struct {
	// Delay is how long every route keeps serving, with Connection: close
	// on its answers and Drain set, before the listener closes: time for a
	// load balancer to see the 503 of /readyz and send traffic elsewhere.
	Delay time.Duration
	// Timeout bounds the wait for in-flight requests once the listener is
	// closed.
	Timeout time.Duration
	// Drain, when set, is turned on when shutdown begins.
	Drain *Drain
	// Hurry, when closed, cuts the rest of Delay short (a second signal).
	Hurry <-chan struct{}
}

// Serve serves h on ln until ctx is done, then shuts down in the phases of
// sd, each logged: drain (readiness 503, keep-alives off, still serving for
// sd.Delay), close the listener, let in-flight requests finish for up to
// sd.Timeout. Requests do not inherit ctx: a shutdown does not cancel them.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, sd Shutdown, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	if sd.Drain != nil {
		sd.Drain.on.Store(true)
	}
	// Answers say Connection: close and idle connections are closed, so
	// keep-alive clients reconnect, through the balancer, elsewhere.
	srv.SetKeepAlivesEnabled(false)
	if sd.Delay > 0 {
		log.Info("shutdown: draining; /readyz answers 503, requests are still served", "delay", sd.Delay)
		select {
		case <-time.After(sd.Delay):
		case <-sd.Hurry:
			log.Info("shutdown: second signal, draining cut short")
		}
	}
	log.Info("shutdown: listener closed, finishing in-flight requests", "grace", sd.Timeout)
	sctx, cancel := context.WithTimeout(context.Background(), sd.Timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("http server: in-flight requests did not finish within %s: %w", sd.Timeout, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	return nil
}

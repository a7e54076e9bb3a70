package httpserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/session"
)

const requestIDKey = "request_id"

// RequestID returns the id of the request c serves.
func RequestID(c *echo.Context) string {
	id, _ := c.Get(requestIDKey).(string)
	return id
}

// requestID takes a sane X-Request-ID (1-64 characters from A-Z a-z 0-9 .
// _ - :) from a trusted proxy, which ties the request to the proxy's own
// logs, or else makes one, and echoes it back. A client's own id is never
// taken: anyone could plant ids in the logs and the audit trail.
func requestID(trusted []*net.IPNet) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			id := c.Request().Header.Get(requestIDHeader)
			if !saneRequestID(id) || !fromTrusted(c.Request().RemoteAddr, trusted) {
				id = newRequestID()
			}
			c.Set(requestIDKey, id)
			c.Response().Header()[requestIDHeader] = []string{id}
			return next(c)
		}
	}
}

// fromTrusted reports whether the peer at remoteAddr (host:port) is in one
// of the trusted ranges.
func fromTrusted(remoteAddr string, trusted []*net.IPNet) bool {
	if len(trusted) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	for _, n := range trusted {
		if ip != nil && n.Contains(ip) {
			return true
		}
	}
	return false
}

// requestIDHeader is X-Request-ID in canonical form, so that header
// lookups need no conversion.
const requestIDHeader = "X-Request-Id"

func saneRequestID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		ok := b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '.' || b == '_' || b == '-' || b == ':'
		if !ok {
			return false
		}
	}
	return true
}

// Request ids are a random per-process prefix and a counter: unique across
// replicas (64 random bits) and cheaper than 16 fresh random bytes a request.
var (
	idPrefix  = newIDPrefix()
	idCounter atomic.Uint64
)

func newIDPrefix() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func newRequestID() string {
	var b [32]byte
	copy(b[:16], idPrefix)
	n := idCounter.Add(1)
	const digits = "0123456789abcdef"
	for i := 31; i >= 16; i-- {
		b[i] = digits[n&0xf]
		n >>= 4
	}
	return string(b[:])
}

// safeMethod reports whether a request of method m changes nothing.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// auditSource puts the client of a state-changing request (its address as
// the trusted proxies let it be known, its cleaned User-Agent and the
// request id) in the request context, where the events the request records
// take it from. Reads skip the work: the one event a read can record (an
// inactive user's leftover sessions ended by authenticate) asks AuditSource
// itself.
func auditSource(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		r := c.Request()
		if safeMethod(r.Method) {
			return next(c)
		}
		c.SetRequest(r.WithContext(audit.WithSource(r.Context(), AuditSource(c))))
		return next(c)
	}
}

// AuditSource is the client of the request c serves, as its events record
// it: the address the trusted proxies let be known, the cleaned User-Agent
// and the request id.
func AuditSource(c *echo.Context) audit.Source {
	return audit.Source{IP: c.RealIP(), UserAgent: session.CleanUserAgent(c.Request().UserAgent()), RequestID: RequestID(c)}
}

// panicError carries a recovered panic and where it happened.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// recoverPanics turns a panic in a handler into a 500, so one bad request
// never takes the process down. http.ErrAbortHandler keeps its meaning.
func recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) (err error) {
		defer func() {
			if v := recover(); v != nil {
				if e, ok := v.(error); ok && errors.Is(e, http.ErrAbortHandler) {
					panic(v)
				}
				err = &panicError{value: v, stack: debug.Stack()}
			}
		}()
		return next(c)
	}
}

// limitBody caps the request body at MaxBodyBytes: a declared length over
// it is refused at once, an undeclared one fails while it is read.
func limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		r := c.Request()
		switch {
		case r.ContentLength > MaxBodyBytes:
			return NewProblem(http.StatusRequestEntityTooLarge, "body_too_large", statusDetail(http.StatusRequestEntityTooLarge))
		case r.Body == nil || r.Body == http.NoBody:
			// nothing to limit
		default:
			r.Body = http.MaxBytesReader(c.Response(), r.Body, MaxBodyBytes)
		}
		return next(c)
	}
}

// logRequests writes one line per request, after turning any error into its
// problem response, so the line has the status that was sent. A 5xx line
// carries the cause (and the stack of a panic): the error is logged here,
// once, and nowhere else.
func logRequests(log *slog.Logger, observe func(route, method string, status int, d time.Duration)) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				ErrorHandler(c, err)
			}
			resp, status := echo.ResolveResponseStatus(c.Response(), nil)
			var size int64
			if resp != nil {
				size = resp.Size
			}
			route := c.Path()
			if route == "" {
				route = "(no route)"
			}
			r := c.Request()
			latency := time.Since(start)
			if observe != nil {
				observe(route, r.Method, status, latency)
			}
			attrs := make([]slog.Attr, 0, 9)
			attrs = append(attrs,
				slog.String("request_id", RequestID(c)),
				slog.String("method", r.Method),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Int64("bytes", size),
				slog.Duration("latency", latency),
			)
			if r.URL.Path != route {
				attrs = append(attrs, slog.String("path", r.URL.Path))
			}
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
				if err != nil {
					attrs = append(attrs, slog.String("error", err.Error()))
					if p := (*panicError)(nil); errors.As(err, &p) {
						attrs = append(attrs, slog.String("stack", string(p.stack)))
					}
				}
			}
			log.LogAttrs(r.Context(), level, "request", attrs...)
			return nil
		}
	}
}

// trimTrailingSlash routes /a/b/ as /a/b, before routing.
func trimTrailingSlash(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		u := c.Request().URL
		if len(u.Path) > 1 && strings.HasSuffix(u.Path, "/") {
			u.Path = strings.TrimRight(u.Path, "/")
			if u.Path == "" {
				u.Path = "/"
			}
			u.RawPath = ""
		}
		return next(c)
	}
}

// requireJSONBody refuses a state-changing request whose body is not JSON
// with 415, whatever its route does with the body: a browser form can never
// change state, but on the POST routes of forms (forms holds their echo
// paths), which take a form (application/x-www-form-urlencoded) instead.
// Unknown routes and methods keep their 404 and 405.
func requireJSONBody(forms map[string]bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			r := c.Request()
			if safeMethod(r.Method) {
				return next(c)
			}
			accept, detail := IsJSON, statusDetail(http.StatusUnsupportedMediaType)
			if r.Method == http.MethodPost && forms[c.Path()] {
				accept, detail = isForm, "the request body must be a form (Content-Type: application/x-www-form-urlencoded)"
			}
			if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody || accept(r.Header.Get("Content-Type")) {
				return next(c)
			}
			if name := c.RouteInfo().Name; name == echo.NotFoundRouteName || name == echo.MethodNotAllowedRouteName {
				return next(c)
			}
			return NewProblem(http.StatusUnsupportedMediaType, "unsupported_media_type", detail)
		}
	}
}

// isForm reports whether a Content-Type is an HTML form's
// (application/x-www-form-urlencoded), with any parameters.
func isForm(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// Header values set on every response, shared so setting them allocates
// nothing.
var (
	noSniff = []string{"nosniff"}
	noStore = []string{"no-store"}
)

// secureHeaders tells browsers not to guess content types, and not to
// store API answers (they carry accounts and set session cookies).
func secureHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		h := c.Response().Header()
		h["X-Content-Type-Options"] = noSniff
		if strings.HasPrefix(c.Request().URL.Path, "/api/") {
			h["Cache-Control"] = noStore
		}
		return next(c)
	}
}

// deadline gives every request's context a deadline d from now: the queries,
// transactions, pool waits and hashing queue under it end then, and the
// request gets 503 (the store reports a passed deadline as unavailable).
func deadline(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			ctx, cancel := context.WithTimeout(c.Request().Context(), d)
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

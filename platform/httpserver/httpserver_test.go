package httpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
)

type payload struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// newTestServer returns a server with routes that exercise every path of
// the error handling, and the buffer its log goes to.
func newTestServer(t *testing.T) (*echo.Echo, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	// httptest's requests come from 192.0.2.1: as if through a proxy.
	e, err := New(slog.New(slog.NewJSONHandler(&logs, nil)), Options{TrustedProxies: []string{"192.0.2.1"}})
	if err != nil {
		t.Fatal(err)
	}
	e.POST("/echo", func(c *echo.Context) error {
		var p payload
		if err := c.Bind(&p); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, p)
	})
	e.GET("/panic", func(c *echo.Context) error { panic("kaboom") })
	e.GET("/fail", func(c *echo.Context) error { return errors.New("secret database detail") })
	e.GET("/invalid", func(c *echo.Context) error {
		return fmt.Errorf("check: %w", apperr.Invalid(apperr.FieldError{Field: "username", Message: "too short"}, apperr.FieldError{Field: "password", Message: "too long"}))
	})
	e.GET("/unavailable", func(c *echo.Context) error {
		return fmt.Errorf("query: %w: %w", apperr.ErrUnavailable, errors.New("connection refused"))
	})
	e.GET("/items/x", func(c *echo.Context) error { return c.String(http.StatusOK, "x") })
	return e, &logs
}

func do(e http.Handler, method, path, contentType, body string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func decodeProblemBody(t *testing.T, rec *httptest.ResponseRecorder) Problem {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json; body %s", ct, rec.Body)
	}
	var p Problem
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatal(err)
	}
	if p.Status != rec.Code || p.Type != ProblemTypePrefix+p.Code || p.Title == "" || p.RequestID == "" {
		t.Fatalf("incomplete problem %+v for status %d", p, rec.Code)
	}
	return p
}

func TestStrictJSONBinding(t *testing.T) {
	e, _ := newTestServer(t)
	tests := []struct {
		name, contentType, body string
		status                  int
		code, detail            string
	}{
		{"valid", "application/json", `{"name":"a","count":2}`, 200, "", ""},
		{"charset", "application/json; charset=utf-8", `{"name":"a"}`, 200, "", ""},
		{"form", "application/x-www-form-urlencoded", `name=a`, 415, "unsupported_media_type", "must be JSON"},
		{"no content type", "", `{"name":"a"}`, 415, "unsupported_media_type", "must be JSON"},
		{"malformed", "application/json", `{"name":`, 400, "bad_request", "ends too early"},
		{"syntax", "application/json", `{"name" "a"}`, 400, "bad_request", "malformed JSON"},
		{"unknown field", "application/json", `{"name":"a","admin":true}`, 400, "bad_request", `unknown field "admin"`},
		{"wrong type", "application/json", `{"name":5}`, 400, "bad_request", `field "name" must be a string`},
		{"not an object", "application/json", `[1,2]`, 400, "bad_request", "must be a JSON object"},
		{"empty", "application/json", ``, 400, "bad_request", "empty"},
		{"trailing data", "application/json", `{"name":"a"} {"name":"b"}`, 400, "bad_request", "single JSON object"},
		{"too large", "application/json", `{"name":"` + strings.Repeat("a", 100<<10) + `"}`, 413, "body_too_large", "64 KiB"},
		{"duplicate member", "application/json", `{"name":"a","count":1,"name":"b"}`, 400, "bad_request", `member "name" appears more than once`},
		{"duplicate after a nested value", "application/json", `{"name":"a","count":{"x":[1,{"y":2}]},"count":3}`, 400, "bad_request", `member "count"`},
		{"duplicate in another case", "application/json", `{"name":"a","NAME":"b"}`, 400, "bad_request", `member "NAME" appears more than once`},
		{"duplicate in mixed case", "application/json", `{"name":"a","Count":1,"cOUNT":2}`, 400, "bad_request", `member "cOUNT"`},
		{"duplicate inside a nested object", "application/json", `{"name":{"a":1,"a":2}}`, 400, "bad_request", `member "a"`},
		{"duplicate in an array's object", "application/json", `{"name":[{"k":1},{"k":1,"k":2}]}`, 400, "bad_request", `member "k"`},
		{"same name in sibling objects", "application/json", `{"name":[{"k":1},{"k":2}]}`, 400, "bad_request", `field "name" must be a string`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(e, http.MethodPost, "/echo", tc.contentType, tc.body)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status == 200 {
				return
			}
			p := decodeProblemBody(t, rec)
			if p.Code != tc.code || !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("problem %+v, want code %s and detail containing %q", p, tc.code, tc.detail)
			}
		})
	}
}

func TestBodyTooLargeWithoutContentLength(t *testing.T) {
	e, _ := newTestServer(t)
	req := httptest.NewRequest(http.MethodPost, "/echo", io.MultiReader(strings.NewReader(`{"name":"`), strings.NewReader(strings.Repeat("a", 70<<10)), strings.NewReader(`"}`)))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", rec.Code)
	}
}

func TestErrorsBecomeProblems(t *testing.T) {
	e, logs := newTestServer(t)

	rec := do(e, http.MethodGet, "/nope", "", "")
	if p := decodeProblemBody(t, rec); rec.Code != 404 || p.Code != "not_found" {
		t.Errorf("unknown route: %d %+v", rec.Code, p)
	}

	rec = do(e, http.MethodDelete, "/items/x", "", "")
	if p := decodeProblemBody(t, rec); rec.Code != 405 || p.Code != "method_not_allowed" || !strings.Contains(rec.Header().Get("Allow"), "GET") {
		t.Errorf("wrong method: %d %+v Allow=%q", rec.Code, p, rec.Header().Get("Allow"))
	}

	rec = do(e, http.MethodGet, "/invalid", "", "")
	p := decodeProblemBody(t, rec)
	if rec.Code != 422 || p.Code != "validation_failed" || len(p.Errors) != 2 || p.Errors[0].Field != "username" || p.Errors[1].Field != "password" {
		t.Errorf("validation: %d %+v", rec.Code, p)
	}

	rec = do(e, http.MethodGet, "/unavailable", "", "")
	if p := decodeProblemBody(t, rec); rec.Code != 503 || p.Code != "service_unavailable" || rec.Header().Get("Retry-After") != "1" {
		t.Errorf("unavailable: %d %+v Retry-After=%q", rec.Code, p, rec.Header().Get("Retry-After"))
	}

	rec = do(e, http.MethodGet, "/fail", "", "", "X-Request-ID", "trace-42")
	p = decodeProblemBody(t, rec)
	if rec.Code != 500 || p.Code != "internal" || p.RequestID != "trace-42" || strings.Contains(rec.Body.String(), "secret") {
		t.Errorf("internal error leaked or misreported: %d %s", rec.Code, rec.Body)
	}
	// The cause is logged once, on the request's line, with its id.
	if n := strings.Count(logs.String(), "secret database detail"); n != 1 {
		t.Errorf("cause logged %d times, want 1:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), `"request_id":"trace-42"`) {
		t.Errorf("log lacks the request id:\n%s", logs)
	}
}

func TestPanicIsA500NotACrash(t *testing.T) {
	e, logs := newTestServer(t)
	rec := do(e, http.MethodGet, "/panic", "", "")
	if p := decodeProblemBody(t, rec); rec.Code != 500 || p.Code != "internal" || strings.Contains(rec.Body.String(), "kaboom") {
		t.Fatalf("panic: %d %s", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), "panic: kaboom") || !strings.Contains(logs.String(), `"stack"`) {
		t.Errorf("panic not logged with its stack:\n%s", logs)
	}
	// The server goes on serving.
	if rec := do(e, http.MethodGet, "/items/x", "", ""); rec.Code != 200 {
		t.Errorf("after a panic: %d", rec.Code)
	}
}

func TestRequestID(t *testing.T) {
	e, logs := newTestServer(t)
	rec := do(e, http.MethodGet, "/items/x", "", "", "X-Request-ID", "abc-123")
	if got := rec.Header().Get("X-Request-ID"); got != "abc-123" {
		t.Errorf("sane id not echoed: %q", got)
	}
	for _, bad := range []string{"has space", strings.Repeat("a", 65), "semi;colon", "new\nline"} {
		rec := do(e, http.MethodGet, "/items/x", "", "", "X-Request-ID", bad)
		got := rec.Header().Get("X-Request-ID")
		if got == bad || len(got) != 32 {
			t.Errorf("id %q: got %q, want a fresh 32-character id", bad, got)
		}
	}
	rec = do(e, http.MethodGet, "/items/x", "", "")
	if len(rec.Header().Get("X-Request-ID")) != 32 {
		t.Errorf("no id generated: %q", rec.Header().Get("X-Request-ID"))
	}
	// A client's own id is not taken: it could plant ids in the trail.
	for _, proxies := range [][]string{nil, {"10.0.0.0/8"}} {
		direct, err := New(slog.New(slog.DiscardHandler), Options{TrustedProxies: proxies})
		if err != nil {
			t.Fatal(err)
		}
		direct.GET("/items/:id", func(c *echo.Context) error { return c.String(200, RequestID(c)) })
		rec := do(direct, http.MethodGet, "/items/x", "", "", "X-Request-ID", "planted-1")
		if got := rec.Header().Get("X-Request-ID"); got == "planted-1" || len(got) != 32 || rec.Body.String() != got {
			t.Errorf("proxies %v: a client's id was taken: header %q, body %q", proxies, got, rec.Body)
		}
	}
	// One line per request with id, method, route, status, bytes, latency.
	var line map[string]any
	first, _, _ := strings.Cut(logs.String(), "\n")
	if err := json.Unmarshal([]byte(first), &line); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"request_id", "method", "route", "status", "bytes", "latency"} {
		if _, ok := line[k]; !ok {
			t.Errorf("log line lacks %s: %s", k, first)
		}
	}
	if n := strings.Count(logs.String(), "\n"); n != 6 {
		t.Errorf("%d log lines for 6 requests", n)
	}
}

func TestTrailingSlashOptional(t *testing.T) {
	e, _ := newTestServer(t)
	for _, path := range []string{"/items/x", "/items/x/", "/items/x//"} {
		if rec := do(e, http.MethodGet, path, "", ""); rec.Code != 200 {
			t.Errorf("GET %s = %d", path, rec.Code)
		}
	}
}

// TestServeLetsInFlightRequestsFinish starts a request, begins the shutdown
// while the handler is still working, and checks that the request completes
// with 200 and that new connections are refused.
func TestServeLetsInFlightRequestsFinish(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		w.Write([]byte("done"))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, h, Shutdown{Timeout: 5 * time.Second}, slog.New(slog.DiscardHandler)) }()

	type result struct {
		status int
		body   string
		err    error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- result{status: resp.StatusCode, body: string(b)}
	}()
	<-entered
	cancel() // shutdown starts while the request is in flight
	// Wait until the listener is closed, then let the handler finish.
	for range 100 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			break
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("new connections still accepted during shutdown")
	}
	close(release)
	r := <-got
	if r.err != nil || r.status != 200 || r.body != "done" {
		t.Fatalf("in-flight request: %+v", r)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve = %v", err)
	}
}

func TestServeGivesUpAfterShutdownTimeout(t *testing.T) {
	entered := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done() // never finishes by itself
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- Serve(ctx, ln, h, Shutdown{Timeout: 100 * time.Millisecond}, slog.New(slog.DiscardHandler))
	}()
	go http.Get("http://" + ln.Addr().String() + "/")
	<-entered
	cancel()
	if err := <-served; err == nil || !strings.Contains(err.Error(), "did not finish") {
		t.Fatalf("Serve = %v, want a shutdown timeout error", err)
	}
}

func TestClientIP(t *testing.T) {
	ipOf := func(o Options, remote, xff string) string {
		e, err := New(slog.New(slog.DiscardHandler), o)
		if err != nil {
			t.Fatal(err)
		}
		e.GET("/ip", func(c *echo.Context) error { return c.String(http.StatusOK, c.RealIP()) })
		req := httptest.NewRequest(http.MethodGet, "/ip", nil)
		req.RemoteAddr = remote
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec.Body.String()
	}
	proxied := Options{TrustedProxies: []string{"10.0.0.0/8", "192.0.2.7"}}
	tests := []struct {
		name        string
		o           Options
		remote, xff string
		want        string
	}{
		{"no proxies: the socket, whatever the header says", Options{}, "10.1.2.3:555", "203.0.113.9", "10.1.2.3"},
		{"trusted proxy: the client it names", proxied, "10.1.2.3:555", "203.0.113.9", "203.0.113.9"},
		{"trusted single-IP proxy", proxied, "192.0.2.7:555", "203.0.113.9", "203.0.113.9"},
		{"chain: the nearest untrusted entry", proxied, "10.1.2.3:555", "198.51.100.1, 203.0.113.9, 10.9.9.9", "203.0.113.9"},
		{"untrusted peer: its header is ignored", proxied, "198.51.100.5:555", "203.0.113.9", "198.51.100.5"},
	}
	for _, tc := range tests {
		if got := ipOf(tc.o, tc.remote, tc.xff); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	if _, err := New(slog.New(slog.DiscardHandler), Options{TrustedProxies: []string{"nonsense"}}); err == nil {
		t.Error("a bad proxy address was accepted")
	}
	if _, err := New(slog.New(slog.DiscardHandler), Options{TrustedOrigins: []string{"not an origin"}}); err == nil {
		t.Error("a bad origin was accepted")
	}
}

func TestLimit(t *testing.T) {
	e, err := New(slog.New(slog.DiscardHandler), Options{})
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}, 2), make(chan struct{})
	e.GET("/slow", func(c *echo.Context) error {
		entered <- struct{}{}
		<-release
		return c.NoContent(http.StatusNoContent)
	}, Limit(2, 50*time.Millisecond, nil))
	results := make(chan int, 2)
	for range 2 {
		go func() { results <- do(e, http.MethodGet, "/slow", "", "").Code }()
	}
	<-entered
	<-entered
	// Both slots are taken: the third request waits 50 ms, then gets 503.
	rec := do(e, http.MethodGet, "/slow", "", "")
	if p := decodeProblemBody(t, rec); rec.Code != 503 || p.Code != "service_unavailable" || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("third request: %d %+v", rec.Code, p)
	}
	close(release)
	for range 2 {
		if code := <-results; code != http.StatusNoContent {
			t.Fatalf("admitted request: %d", code)
		}
	}
	// Slots are given back.
	if rec := do(e, http.MethodGet, "/slow", "", ""); rec.Code != http.StatusNoContent {
		t.Fatalf("after release: %d", rec.Code)
	}
}

func TestStateChangingBodiesMustBeJSON(t *testing.T) {
	e, _ := newTestServer(t)
	e.DELETE("/items/x", func(c *echo.Context) error { return c.NoContent(http.StatusNoContent) })
	if rec := do(e, http.MethodDelete, "/items/x", "application/x-www-form-urlencoded", "a=b"); rec.Code != 415 {
		t.Errorf("DELETE with a form body: %d", rec.Code)
	}
	if rec := do(e, http.MethodDelete, "/items/x", "", ""); rec.Code != 204 {
		t.Errorf("DELETE without a body: %d", rec.Code)
	}
	if rec := do(e, http.MethodDelete, "/items/x", "application/json", "{}"); rec.Code != 204 {
		t.Errorf("DELETE with a JSON body: %d", rec.Code)
	}
	if rec := do(e, http.MethodPost, "/nowhere", "text/plain", "x"); rec.Code != 404 {
		t.Errorf("unknown route with a text body: %d, want 404", rec.Code)
	}
	if rec := do(e, http.MethodPut, "/items/x", "text/plain", "x"); rec.Code != 405 {
		t.Errorf("wrong method with a text body: %d, want 405", rec.Code)
	}
}

func TestSecureHeaders(t *testing.T) {
	e, _ := newTestServer(t)
	e.GET("/api/v1/thing", func(c *echo.Context) error { return c.NoContent(http.StatusNoContent) })
	rec := do(e, http.MethodGet, "/api/v1/thing", "", "")
	if rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("API response headers: %v", rec.Header())
	}
	rec = do(e, http.MethodGet, "/nope", "", "")
	if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("a problem response lacks nosniff: %v", rec.Header())
	}
	rec = do(e, http.MethodGet, "/items/x", "", "")
	if rec.Header().Get("Cache-Control") != "" {
		t.Errorf("a non-API response is marked no-store: %v", rec.Header())
	}
}

func TestClientGoneIsNotAServerError(t *testing.T) {
	e, logs := newTestServer(t)
	e.GET("/gone", func(c *echo.Context) error {
		return fmt.Errorf("query: %w", context.Canceled)
	})
	rec := do(e, http.MethodGet, "/gone", "", "")
	if rec.Code != StatusClientClosedRequest {
		t.Fatalf("status %d, want 499", rec.Code)
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Fatalf("a client that left was logged as a server error:\n%s", logs)
	}
}

func TestCORS(t *testing.T) {
	const app = "http://localhost:5173"
	e, err := New(slog.New(slog.DiscardHandler), Options{TrustedOrigins: []string{app}})
	if err != nil {
		t.Fatal(err)
	}
	handled := 0
	e.POST("/login", func(c *echo.Context) error {
		handled++
		var p payload
		if err := c.Bind(&p); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, p)
	})
	e.GET("/me", func(c *echo.Context) error { return apperr.ErrUnavailable })

	// A preflight from the trusted origin.
	rec := do(e, http.MethodOptions, "/login", "", "", "Origin", app, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type,x-request-id")
	h := rec.Header()
	if rec.Code != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != app || h.Get("Access-Control-Allow-Credentials") != "true" ||
		!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") || h.Get("Access-Control-Max-Age") != "7200" ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Content-Type") || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "X-Request-Id") ||
		!slices.Contains(h.Values("Vary"), "Origin") {
		t.Fatalf("preflight: %d %v", rec.Code, h)
	}
	// Actual requests, a success and errors, carry the headers too.
	for _, tc := range []struct {
		method, path, ct, body string
		status                 int
	}{
		{http.MethodPost, "/login", "application/json", `{"name":"a"}`, 200},
		{http.MethodPost, "/login", "application/json", `{"name":`, 400},
		{http.MethodPost, "/login", "text/plain", `x`, 415},
		{http.MethodGet, "/me", "", "", 503},
		{http.MethodGet, "/nowhere", "", "", 404},
	} {
		rec := do(e, tc.method, tc.path, tc.ct, tc.body, "Origin", app, "Sec-Fetch-Site", "same-site")
		h := rec.Header()
		if rec.Code != tc.status || h.Get("Access-Control-Allow-Origin") != app || h.Get("Access-Control-Allow-Credentials") != "true" ||
			!slices.Contains(h.Values("Vary"), "Origin") || !strings.Contains(h.Get("Access-Control-Expose-Headers"), "X-Request-Id") ||
			!strings.Contains(h.Get("Access-Control-Expose-Headers"), "Retry-After") {
			t.Errorf("%s %s: %d (want %d) %v", tc.method, tc.path, rec.Code, tc.status, h)
		}
	}
	// An untrusted origin: no CORS header at all, and its unsafe request is
	// refused before the handler.
	handled = 0
	for _, rec := range []*httptest.ResponseRecorder{
		do(e, http.MethodOptions, "/login", "", "", "Origin", "https://evil.example", "Access-Control-Request-Method", "POST"),
		do(e, http.MethodPost, "/login", "application/json", `{"name":"a"}`, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"),
		do(e, http.MethodGet, "/me", "", "", "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"),
	} {
		for k := range rec.Header() {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("untrusted origin got %s: %v", k, rec.Header())
			}
		}
	}
	if rec := do(e, http.MethodPost, "/login", "application/json", `{"name":"a"}`, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"); rec.Code != http.StatusForbidden || handled != 0 {
		t.Errorf("untrusted unsafe request: %d, handled %d times", rec.Code, handled)
	}
	// Same-origin and non-browser requests are as before: no CORS headers.
	for _, hdr := range [][]string{nil, {"Sec-Fetch-Site", "same-origin"}} {
		rec := do(e, http.MethodPost, "/login", "application/json", `{"name":"a"}`, hdr...)
		if rec.Code != 200 || rec.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("same-origin/non-browser: %d %v", rec.Code, rec.Header())
		}
	}
}

// TestServeDrains: after the context ends, requests are still served for
// the delay, with Connection: close and Drain on; closing Hurry cuts the
// delay short.
func TestServeDrains(t *testing.T) {
	drain := &Drain{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, drain.Draining())
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	hurry := make(chan struct{})
	served := make(chan error, 1)
	go func() {
		served <- Serve(ctx, ln, h, Shutdown{Delay: time.Hour, Timeout: time.Second, Drain: drain, Hurry: hurry}, slog.New(slog.DiscardHandler))
	}()
	get := func() (*http.Response, string) {
		t.Helper()
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, body := get(); body != "false" || resp.Close {
		t.Fatalf("before shutdown: draining %s, close %v", body, resp.Close)
	}
	cancel()
	for !drain.Draining() {
		time.Sleep(time.Millisecond)
	}
	for range 3 {
		if resp, body := get(); resp.StatusCode != http.StatusOK || body != "true" || !resp.Close {
			t.Fatalf("while draining: %d, draining %s, Connection: close %v", resp.StatusCode, body, resp.Close)
		}
	}
	close(hurry)
	select {
	case err := <-served:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Hurry did not cut the delay short")
	}
}

// TestForeground: a request in flight makes the foreground busy until it
// ends; a request of a Limit route does not count while it runs.
func TestForeground(t *testing.T) {
	fg := NewForeground()
	e, err := New(slog.New(slog.DiscardHandler), Options{Foreground: fg})
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	block := func(c *echo.Context) error {
		entered <- struct{}{}
		<-release
		return c.NoContent(http.StatusNoContent)
	}
	e.GET("/read", block)
	e.GET("/hash", block, Limit(2, time.Second, fg))
	idle := func() bool { return isClosed(fg.Idle()) }
	if !idle() {
		t.Fatal("busy before any request")
	}
	for _, c := range []struct {
		path string
		busy bool
	}{{"/hash", false}, {"/read", true}} {
		done := make(chan int)
		go func() { done <- do(e, http.MethodGet, c.path, "", "").Code }()
		<-entered
		if idle() == c.busy {
			t.Errorf("%s in flight: idle %v", c.path, idle())
		}
		if fg.Contended() {
			t.Errorf("%s alone in flight: contended", c.path)
		}
		release <- struct{}{}
		if code := <-done; code != http.StatusNoContent || !idle() {
			t.Errorf("%s done: %d, idle %v", c.path, code, idle())
		}
	}
	// A read and a hash in flight together contend, and stop when either ends.
	hash, read := make(chan int), make(chan int)
	go func() { hash <- do(e, http.MethodGet, "/hash", "", "").Code }()
	<-entered
	go func() { read <- do(e, http.MethodGet, "/read", "", "").Code }()
	<-entered
	if !fg.Contended() {
		t.Error("a read and a hash in flight: not contended")
	}
	release <- struct{}{}
	other := read
	select {
	case <-hash:
	case <-read:
		other = hash
	}
	if fg.Contended() {
		t.Error("contended with one of them ended")
	}
	release <- struct{}{}
	<-other
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cleanslice/cleanslice/platform/metrics"
)

// BenchmarkStatus measures the route table's own cost per request (no
// network): middleware, routing, logging, metrics, JSON.
func BenchmarkStatus(b *testing.B) {
	app := newTestApp(b, "sqlite", nil)
	serveLoop(b, app, httptest.NewRequest(http.MethodGet, "/api/v1/", nil))
}

// serveLoop serves req again and again through a fresh route table whose
// log goes nowhere, as the service's buffered log nearly does.
func serveLoop(b *testing.B, app *testApp, req *http.Request) {
	h, err := newHandler(app.cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), app.store, metrics.New(), app.clock.Now)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkMe measures an authenticated request on SQLite: cookie, JWT,
// session+user query, JSON.
func BenchmarkMe(b *testing.B) {
	app := newTestApp(b, "sqlite", nil)
	c := app.client()
	c.signup(b, "bench.user", "password1")
	req := httptest.NewRequest(http.MethodGet, "/api/v1/auth/me", nil)
	req.AddCookie(c.login(b, "bench.user", "password1").sessionCookie())
	serveLoop(b, app, req)
}

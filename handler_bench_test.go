package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/platform/httpserver"
	"github.com/cleanslice/cleanslice/platform/metrics"
	"github.com/cleanslice/cleanslice/shared/user"
)

// BenchmarkStatus measures the route table's own cost per request (no
// network): middleware, routing, logging, metrics, JSON.
func BenchmarkStatus(b *testing.B) {
	app := newTestApp(b, "sqlite", nil)
	req := httptest.NewRequest(http.MethodGet, "/api/v1/", nil)
	serveLoop(b, app, func(int) *http.Request { return req }, http.StatusOK)
}

// serveLoop serves the requests of newReq (given the iteration) through a
// fresh route table whose log goes nowhere, as the service's buffered log
// nearly does, and checks each status.
func serveLoop(b *testing.B, app *testApp, newReq func(i int) *http.Request, status int) {
	h, err := newHandler(background(b), app.cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), app.store, metrics.New(), &httpserver.Drain{}, httpserver.NewForeground(), app.clock.Now)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i, start := 0, cpuTime()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, newReq(i))
		if rec.Code != status {
			b.Fatal(rec.Code, rec.Body)
		}
		i++
	}
	// The process's CPU, not the wall clock: a request's wait for the
	// database is not its cost.
	b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(i)/1e3, "cpu-us/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMe measures an authenticated request on SQLite: cookie, JWT,
// session+user query, JSON.
func BenchmarkMe(b *testing.B) {
	app := newTestApp(b, "sqlite", nil)
	c := app.client()
	c.signup(b, "bench.user", "quiet-lamp-1")
	req := httptest.NewRequest(http.MethodGet, "/api/v1/auth/me", nil)
	req.AddCookie(c.login(b, "bench.user", "quiet-lamp-1").sessionCookie())
	serveLoop(b, app, func(int) *http.Request { return req }, http.StatusOK)
}

// jsonRequest is a POST of a JSON body.
func jsonRequest(path, body string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return req
}

// BenchmarkSignup and BenchmarkLogin measure the routes that bind a body
// (strict JSON decoding included) on SQLite, with the tests' cheap hashing.
func BenchmarkSignup(b *testing.B) {
	app := newTestApp(b, "sqlite", nil)
	serveLoop(b, app, func(i int) *http.Request {
		return jsonRequest("/api/v1/auth/signup", fmt.Sprintf(`{"username":"user%07d","password":"quiet-lamp-1"}`, i))
	}, http.StatusCreated)
}

func BenchmarkLogin(b *testing.B) {
	app := newTestApp(b, "sqlite", nil)
	app.client().signup(b, "bench.user", "quiet-lamp-1")
	serveLoop(b, app, func(int) *http.Request {
		return jsonRequest("/api/v1/auth/login", `{"username":"bench.user","password":"quiet-lamp-1"}`)
	}, http.StatusOK)
}

// BenchmarkListUsers measures an admin's first page of 20 users on
// PostgreSQL, as the bench's (c) reads it: cookie, session, the page and
// its total, JSON.
func BenchmarkListUsers(b *testing.B) {
	app := newTestApp(b, "postgres", nil)
	hash, err := newHasher(app.cfg.Password, nil, nil, nil).Hash(b.Context(), seedPassword)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 30 {
		role := user.RoleUser
		if i == 0 {
			role = user.RoleAdmin
		}
		if err := app.store.InsertUser(b.Context(), user.New(fmt.Sprintf("user%02d", i), hash, role, app.clock.Now())); err != nil {
			b.Fatal(err)
		}
	}
	req := httptest.NewRequest(http.MethodGet, "/api/v1/users?limit=20", nil)
	req.AddCookie(app.client().login(b, "user00", seedPassword).sessionCookie())
	serveLoop(b, app, func(int) *http.Request { return req }, http.StatusOK)
}

package main

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/features/health"
	"github.com/cleanslice/cleanslice/platform/config"
	"github.com/cleanslice/cleanslice/platform/httpserver"
	"github.com/cleanslice/cleanslice/platform/metrics"
	"github.com/cleanslice/cleanslice/platform/openapi"
	"github.com/cleanslice/cleanslice/platform/pages"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
)

// newHandler returns the whole route table: the service's own pages and
// probes here, the API by area (routes_account.go, routes_mfa.go,
// routes_admin.go, routes_apikeys.go, routes_oauth.go, routes_webhooks.go), each area constructing its slices from one deps. This
// is the one place that sees every package. drain turns the readiness
// probe off at shutdown; fg counts the requests in flight other than the
// hashes; now is the clock.
func newHandler(bg runner, cfg config.Config, log *slog.Logger, store *sqlstore.Store, m *metrics.Metrics, drain *httpserver.Drain, fg *httpserver.Foreground, now func() time.Time) (http.Handler, error) {
	d, err := newDeps(bg, cfg, log, store, m, fg, now)
	if err != nil {
		return nil, err
	}
	docs, err := openapi.New()
	if err != nil {
		return nil, err
	}
	e, err := httpserver.New(log, httpserver.Options{
		TrustedOrigins: cfg.HTTP.TrustedOrigins,
		TrustedProxies: cfg.HTTP.TrustedProxies,
		ObserveRequest: m.ObserveRequest,
		RequestTimeout: cfg.HTTP.RequestTimeout,
		Foreground:     fg,
		FormPosts:      []string{oauthCallbackRoute},
	})
	if err != nil {
		return nil, err
	}
	healthH := health.NewHandler(health.New(store, drain, time.Second))
	e.GET("/", func(c *echo.Context) error { return c.Redirect(http.StatusTemporaryRedirect, "/docs") })
	e.GET("/docs", docs.UI)
	e.GET("/docs/*", docs.Asset)
	e.GET("/openapi.json", docs.Spec)
	if cfg.Metrics.Enabled && cfg.Metrics.Address == "" {
		e.GET("/metrics", echo.WrapHandler(m.Handler()))
	}
	e.GET("/account/verify", pages.File("verify.html", "text/html; charset=utf-8"))
	e.GET("/account/recover", pages.File("recover.html", "text/html; charset=utf-8"))
	e.GET("/account/account.js", pages.File("account.js", "text/javascript; charset=utf-8"))
	e.GET("/account/account.css", pages.File("account.css", "text/css; charset=utf-8"))
	e.GET("/livez", healthH.Live)
	e.GET("/readyz", healthH.Ready)

	api := e.Group("/api/v1")
	api.GET("", healthH.Status)
	accountRoutes(api, d)
	mfaRoutes(api, d)
	adminRoutes(api, d)
	oauthRoutes(api, d)
	webhookRoutes(api, d)
	apiKeyRoutes(api, d)
	return e, nil
}

package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"log/slog"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/features/authenticate"
	"github.com/cleanslice/cleanslice/platform/config"
	"github.com/cleanslice/cleanslice/platform/httpserver"
	"github.com/cleanslice/cleanslice/platform/mailer"
	"github.com/cleanslice/cleanslice/platform/metrics"
	"github.com/cleanslice/cleanslice/platform/mfakeys"
	"github.com/cleanslice/cleanslice/platform/oidc"
	"github.com/cleanslice/cleanslice/platform/passkeys"
	"github.com/cleanslice/cleanslice/platform/password"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/platform/token"
	"github.com/cleanslice/cleanslice/platform/totp"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/identity"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/signin"
	"github.com/cleanslice/cleanslice/shared/user"
)

// deps is what the slices are made of: the adapters and the policies,
// each built once from the configuration and shared by every area's
// routes (routes_*.go), which construct their slices from it.
type deps struct {
	cfg     config.Config
	log     *slog.Logger
	store   *sqlstore.Store
	metrics *metrics.Metrics
	now     func() time.Time
	bg      runner // background work a slice needs (the recovery requests' worker)

	hasher   *password.Hasher
	cookies  *token.Cookies
	policy   session.Policy
	signIn   signin.Rules       // every kind of login ends with signIn.Start
	guard    auth.Guard         // the throttle of every password check
	accounts user.AccountRules  // username, password and address rules of new accounts
	outbox   *mailer.Outbox     // mail, queued in the transaction of its change
	links    onetime.Links      // how messages link back
	keys     *mfakeys.Keys      // second-factor secrets, and waiting recovery requests' addresses, sealed at rest; API keys' hashes
	apps     totp.Authenticator // TOTP
	rp       *passkeys.RelyingParty
	// ceremonies bounds the WebAuthn sign-in ceremonies a client begins.
	ceremonies auth.CeremonyLimit
	// verifications sends verification messages within their limits (per
	// account; per address, keyed like the recovery cap).
	verifications onetime.Verifications

	// Sign-in with identity providers (SPEC 4d): the providers, the rules
	// of their flows (the PKCE verifier sealed with the mfa keys), and the
	// cookie that binds a flow to its browser.
	providers *oidc.Providers
	flows     identity.Flows
	binding   oidc.BindingCookie

	// authn authenticates requests (Required, Enrolling, Optional: a
	// session; RequiredOrKey, EnrollingOrKey: a session or an API key);
	// hashing queues the routes that hash a password, before any database
	// work, so that a login flood waits (bounded, then 503) instead of
	// filling the database pool every other request needs.
	authn   *authenticate.Middleware
	hashing echo.MiddlewareFunc
}

// newDeps builds the slices' adapters and policies. fg counts the
// requests in flight other than the hashes (hashes use every core only
// while there is none); now is the clock.
func newDeps(bg runner, cfg config.Config, log *slog.Logger, store *sqlstore.Store, m *metrics.Metrics, fg *httpserver.Foreground, now func() time.Time) (*deps, error) {
	templates, err := mailer.LoadTemplates(cfg.Mail.TemplatesDir)
	if err != nil {
		return nil, err
	}
	rp, err := passkeys.New(cfg.WebAuthn.RPID, cfg.WebAuthn.RPDisplayName, cfg.WebAuthn.RPOrigins)
	if err != nil {
		return nil, err
	}
	policy := session.Policy{TTL: cfg.Auth.SessionTTL, RefreshRatio: cfg.Auth.SessionRefreshRatio, AbsoluteTTL: cfg.Auth.SessionAbsoluteTTL}
	cookies := token.NewCookies(token.NewJWT(token.Secrets{Current: cfg.Auth.JWTSecret, Previous: cfg.Auth.JWTPreviousSecrets}, now), token.CookieConfig{
		Name: cfg.Cookie.Name, Secure: cfg.Cookie.Secure, SameSite: cfg.Cookie.SameSite,
	})
	guard, links, keys := passwordGuard(cfg), mailLinks(cfg.Mail), mfaKeys(cfg.MFA)
	providers, err := oidc.New(cfg.OAuth.Providers, cfg.HTTP.PublicURL, oidc.NewClient(!cfg.Production()), now)
	if err != nil {
		return nil, err
	}
	authn := authenticate.New(store, keys, authenticate.Config{Policy: policy, Enroll: cfg.Auth.RequireSecondFactorFor, Guard: guard}, now)
	return &deps{
		cfg: cfg, log: log, store: store, metrics: m, now: now, bg: bg,
		hasher:     newHasher(cfg.Password, m, log, fg),
		cookies:    cookies,
		policy:     policy,
		signIn:     signin.Rules{Policy: policy, SessionsPerUser: cfg.Auth.MaxSessionsPerUser},
		guard:      guard,
		accounts:   user.AccountRules{MinPasswordLen: cfg.Password.MinLength, EmailRequired: cfg.Auth.RequireEmail},
		outbox:     mailer.NewOutbox(store, templates, now),
		links:      links,
		keys:       keys,
		apps:       totp.Authenticator{Issuer: cfg.WebAuthn.RPDisplayName},
		rp:         rp,
		ceremonies: auth.CeremonyLimit{Kind: "ceremony", PerIP: ceremoniesPerIP, Window: cfg.Auth.FailureWindow},
		authn:      authenticate.NewMiddleware(authn, cookies, httpserver.AuditSource),
		hashing:    httpserver.Limit(2*cfg.Password.MaxConcurrency, cfg.Password.QueueTimeout, fg),

		verifications: onetime.Verifications{Links: links, Key: guard.Key},

		providers: providers,
		flows:     identity.Flows{TrustedOrigins: cfg.HTTP.TrustedOrigins, Sealer: keys},
		binding:   oidc.BindingCookie{Secure: cfg.Cookie.Secure},
	}, nil
}

// loginFailuresPerIP is how many failed password attempts one client (an
// IPv4 address, an IPv6 /64) may make inside auth.failure_window, across
// all usernames.
const loginFailuresPerIP = 50

// ceremoniesPerIP is how many WebAuthn sign-in ceremonies (passwordless,
// and the passkey step of logins) one client may begin inside
// auth.failure_window: each stores a row for five minutes. 500 per 15
// minutes is a sign-in every two seconds from one address or /64.
const ceremoniesPerIP = 500

// passwordGuard is the throttle of every password check. Its username
// windows are keyed with a key derived from the pepper (a rotation of the
// pepper starts them over, once).
func passwordGuard(cfg config.Config) auth.Guard {
	k := hmac.New(sha256.New, []byte(cfg.Password.Pepper))
	k.Write([]byte("cleanslice attempt windows v1"))
	return auth.Guard{PerUser: cfg.Auth.MaxFailedLogins, PerIP: loginFailuresPerIP, Window: cfg.Auth.FailureWindow, Key: k.Sum(nil)}
}

// newHasher returns the password hasher; m, log and fg may be nil (the CLI
// has no metrics and no other requests to yield to).
func newHasher(cfg config.Password, m *metrics.Metrics, log *slog.Logger, fg *httpserver.Foreground) *password.Hasher {
	var obs password.Observer
	if m != nil {
		obs = m
	}
	return password.New(password.Params{
		MemoryKiB:   cfg.Argon2MemoryKiB,
		Iterations:  cfg.Argon2Iterations,
		Parallelism: cfg.Argon2Parallelism,
	}, password.Peppers{Current: cfg.Pepper, Previous: cfg.PreviousPeppers}, cfg.MaxConcurrency, cfg.QueueTimeout, obs, log, yielder(fg))
}

// yielder is fg as the hasher's Yielder: nil stays nil.
func yielder(fg *httpserver.Foreground) password.Yielder {
	if fg == nil {
		return nil
	}
	return fg
}

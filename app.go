package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/features/authenticate"
	"github.com/cleanslice/cleanslice/features/changeemail"
	"github.com/cleanslice/cleanslice/features/changepassword"
	"github.com/cleanslice/cleanslice/features/confirmrecovery"
	"github.com/cleanslice/cleanslice/features/createuser"
	"github.com/cleanslice/cleanslice/features/disabletotp"
	"github.com/cleanslice/cleanslice/features/enabletotp"
	"github.com/cleanslice/cleanslice/features/endothersessions"
	"github.com/cleanslice/cleanslice/features/endsession"
	"github.com/cleanslice/cleanslice/features/endusersessions"
	"github.com/cleanslice/cleanslice/features/grantadmin"
	"github.com/cleanslice/cleanslice/features/health"
	"github.com/cleanslice/cleanslice/features/inactivateuser"
	"github.com/cleanslice/cleanslice/features/listactivity"
	"github.com/cleanslice/cleanslice/features/listauditevents"
	"github.com/cleanslice/cleanslice/features/listmfa"
	"github.com/cleanslice/cleanslice/features/listsessions"
	"github.com/cleanslice/cleanslice/features/listusers"
	"github.com/cleanslice/cleanslice/features/listusersessions"
	"github.com/cleanslice/cleanslice/features/login"
	"github.com/cleanslice/cleanslice/features/loginmfa"
	"github.com/cleanslice/cleanslice/features/logout"
	"github.com/cleanslice/cleanslice/features/me"
	"github.com/cleanslice/cleanslice/features/passkeylogin"
	"github.com/cleanslice/cleanslice/features/reactivateuser"
	"github.com/cleanslice/cleanslice/features/regeneratecodes"
	"github.com/cleanslice/cleanslice/features/registerpasskey"
	"github.com/cleanslice/cleanslice/features/removepasskey"
	"github.com/cleanslice/cleanslice/features/requestrecovery"
	"github.com/cleanslice/cleanslice/features/resetmfa"
	"github.com/cleanslice/cleanslice/features/revokeadmin"
	"github.com/cleanslice/cleanslice/features/sendverification"
	"github.com/cleanslice/cleanslice/features/setuptotp"
	"github.com/cleanslice/cleanslice/features/setuserpassword"
	"github.com/cleanslice/cleanslice/features/signup"
	"github.com/cleanslice/cleanslice/features/verifyemail"
	"github.com/cleanslice/cleanslice/platform/config"
	"github.com/cleanslice/cleanslice/platform/httpserver"
	"github.com/cleanslice/cleanslice/platform/logging"
	"github.com/cleanslice/cleanslice/platform/mailer"
	"github.com/cleanslice/cleanslice/platform/metrics"
	"github.com/cleanslice/cleanslice/platform/mfakeys"
	"github.com/cleanslice/cleanslice/platform/openapi"
	"github.com/cleanslice/cleanslice/platform/pages"
	"github.com/cleanslice/cleanslice/platform/passkeys"
	"github.com/cleanslice/cleanslice/platform/password"
	"github.com/cleanslice/cleanslice/platform/postgres"
	"github.com/cleanslice/cleanslice/platform/sqlite"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/platform/token"
	"github.com/cleanslice/cleanslice/platform/totp"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/signin"
	"github.com/cleanslice/cleanslice/shared/user"
)

// serve runs the HTTP service until ctx is cancelled.
func serve(ctx context.Context, cfg config.Config, logOut io.Writer) error {
	out := logging.NewOutput(logOut, logging.FlushInterval)
	defer out.Close()
	log := logging.New(cfg.Log.Level, cfg.Log.Format, out)
	tuneGC(cfg.Password, cfg.Database.Engine(), os.Getenv, log)
	m := metrics.New()
	store, err := openMigrated(ctx, cfg.Database, cfg.Database.MigrateOnStart, audited(log, m))
	if err != nil {
		return err
	}
	defer store.Close()
	m.WatchDB(store.DB(), store.Engine())
	transport, err := newTransport(cfg.Mail, log)
	if err != nil {
		return err
	}
	drain := &httpserver.Drain{}
	fg := httpserver.NewForeground()
	var background sync.WaitGroup
	bgCtx, stopBackground := context.WithCancel(ctx)
	defer background.Wait()
	defer stopBackground()
	handler, err := newHandler(runner{bgCtx, &background}, cfg, log, store, m, drain, fg, time.Now)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Address)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if base, raised, ok := extraProcs(cfg.Password, os.Getenv); ok {
		log.Info("scheduler tuned: one processor more while requests contend with hashes", "gomaxprocs", base, "raised", raised)
		background.Go(func() { followForeground(bgCtx, fg, base, raised, procsSample, runtime.GOMAXPROCS, log) })
	}
	background.Go(func() {
		purge(bgCtx, store, m, log, retention{Attempts: max(cfg.Auth.FailureWindow, cfg.Auth.SignupWindow), Audit: cfg.Audit.Retention, Mail: mailKept}, time.Minute)
	})
	background.Go(func() { deliverMail(bgCtx, store, transport, cfg.Mail, m, log) })
	if cfg.Metrics.Enabled && cfg.Metrics.Address != "" {
		mln, err := net.Listen("tcp", cfg.Metrics.Address)
		if err != nil {
			ln.Close()
			stopBackground()
			background.Wait()
			return fmt.Errorf("metrics listen: %w", err)
		}
		log.Info("serving metrics", "address", mln.Addr().String())
		background.Go(func() {
			if err := httpserver.Serve(bgCtx, mln, m.Handler(), httpserver.Shutdown{Timeout: time.Second}, log); err != nil {
				log.Error("metrics server", "error", err)
			}
		})
	}

	log.Info("serving", "address", ln.Addr().String(), "database", store.Engine(), "env", cfg.Env)
	served := make(chan struct{})
	err = httpserver.Serve(ctx, ln, handler, httpserver.Shutdown{
		Delay:   cfg.HTTP.ShutdownDelay,
		Timeout: cfg.HTTP.ShutdownTimeout,
		Drain:   drain,
		Hurry:   secondSignal(ctx, served),
	}, log)
	close(served)
	log.Info("shutdown: stopping background work")
	stopBackground()
	background.Wait()
	log.Info("stopped; closing the database pool") // the deferred Close
	return err
}

// tuneGC sets the garbage collector for a service whose memory is mostly
// argon2's, unless the operator set GOGC or GOMEMLIMIT. A soft memory
// limit of the hashes' working set (max_concurrency hashes of
// argon2_memory_kib, twice over) plus 32 MiB keeps the peak bounded; under
// it, the heap may grow 4x between collections instead of 2x, because a
// small live heap otherwise costs a collection every few MiB of request
// garbage (measured: 17 % of GET /api/v1/'s CPU). The live heap, at most
// max_concurrency hashes and the service's own few MiB, stays far below the
// limit, so the limit never makes the collector thrash. On SQLite the
// limit is sqliteOutsideHeap lower: SQLite's page caches and statements
// are C memory, outside Go's heap and its limit.
func tuneGC(cfg config.Password, engine string, getenv func(string) string, log *slog.Logger) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return
	}
	limit := gcHeadroom + 2*int64(cfg.MaxConcurrency)*int64(cfg.Argon2MemoryKiB)<<10
	if engine == "sqlite" {
		limit -= sqliteOutsideHeap
	}
	debug.SetMemoryLimit(limit)
	debug.SetGCPercent(gcPercent)
	log.Info("garbage collector tuned", "gogc", gcPercent, "memory_limit_mib", limit>>20)
}

// The collector's settings; see tuneGC. sqliteOutsideHeap is measured:
// after the reads, SQLite's login flood peaked at 151 / 149 MiB with the
// PostgreSQL limit and 137 / 139 MiB 8 MiB under it, logins unchanged
// (`go run ./bench -engine sqlite -only b,c,d`, alternating); the same cut
// on PostgreSQL, whose memory is all Go's, only cost logins (0.86 / 0.83 ->
// 0.82 / 0.79 x the hash rate) and left the peak where it was.
const (
	gcHeadroom        = 32 << 20
	gcPercent         = 400
	sqliteOutsideHeap = 8 << 20
)

// extraProcs says whether the Go scheduler should get one processor more
// than the hashes can hold while other requests contend with them, and the
// two counts it moves between: the runtime's (a processor per core) and
// password.max_concurrency + 1. A hash keeps its processor for all of its
// ~20 ms (Go preempts a running goroutine after 10 ms), so with every
// processor hashing, a request that arrives waits in Go's run queue for
// that preemption; with one processor more it runs at once and the kernel
// shares the cores between it and the hashes at its finer grain. That
// extra processor costs the hashes themselves ~12 % (measured: CPU per
// login 1-5 % over a bare verification with as many processors as cores,
// 13-17 % with one more), so it is there only while needed (see
// followForeground). Not when the operator set GOMAXPROCS, nor under a CPU
// limit below the machine's cores (a container's quota, which Go's default
// GOMAXPROCS follows): threads beyond the quota would be throttled, a worse
// wait than the run queue's.
func extraProcs(cfg config.Password, getenv func(string) string) (base, raised int, ok bool) {
	base = runtime.GOMAXPROCS(0)
	if getenv("GOMAXPROCS") != "" || base < runtime.NumCPU() || cfg.MaxConcurrency+1 <= base {
		return base, base, false
	}
	return base, cfg.MaxConcurrency + 1, true
}

// followForeground runs until ctx ends: every sample it looks whether a
// request other than the hashes is in flight while a hashing one is too
// (fg.Contended), and sets the scheduler's processors (set:
// runtime.GOMAXPROCS in serve) to raised once raiseAfter samples in a row
// found them, back to base once lowerAfter in a row did not. Without
// hashes there is nothing to make room for, and the extra processor would
// only oversubscribe the cores (SQLite's reads, which run their queries in
// this process, were ~5 % faster against (g3) with a processor per core).
// Sampling, not reacting to every request, is what keeps a login flood
// alone at a processor per core: a login counts as foreground for the
// microseconds between its arrival and its place in the hash queue, which
// a sample almost never sees twice in a row. Each change stops the world
// for ~0.3 ms; lowerAfter bounds them to a few a second.
func followForeground(ctx context.Context, fg interface{ Contended() bool }, base, raised int, sample time.Duration, set func(int) int, log *slog.Logger) {
	const raiseAfter, lowerAfter = 2, 10
	t := time.NewTicker(sample)
	defer t.Stop()
	up, streak := false, 0
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		if fg.Contended() == up {
			streak = 0
			continue
		}
		if streak++; up && streak < lowerAfter || !up && streak < raiseAfter {
			continue
		}
		up, streak = !up, 0
		n := base
		if up {
			n = raised
		}
		set(n)
		log.Debug("scheduler processors follow the foreground", "gomaxprocs", n)
	}
}

// procsSample is how often followForeground looks: a flood of reads gets
// its processor within ~50 ms and keeps it until 250 ms after the last.
const procsSample = 25 * time.Millisecond

// secondSignal returns a channel closed when SIGINT or SIGTERM arrives
// after ctx has ended (by the first one), until done is closed.
func secondSignal(ctx context.Context, done <-chan struct{}) <-chan struct{} {
	hurry := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
			return
		}
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(sig)
		select {
		case <-sig:
			close(hurry)
		case <-done:
		}
	}()
	return hurry
}

// runner starts the background work the route table needs (the recovery
// requests' worker), until its context ends, tracked so that serve waits
// for it before it closes the store.
type runner struct {
	ctx context.Context
	wg  *sync.WaitGroup
}

// Go runs f in the background.
func (r runner) Go(f func(ctx context.Context)) { r.wg.Go(func() { f(r.ctx) }) }

// newHandler wires every slice to its adapters and returns the whole route
// table. This is the one place that sees every package. drain turns the
// readiness probe off at shutdown; fg counts the requests in flight other
// than the hashes (hashes use every core only while there is none); now is
// the clock.
func newHandler(bg runner, cfg config.Config, log *slog.Logger, store *sqlstore.Store, m *metrics.Metrics, drain *httpserver.Drain, fg *httpserver.Foreground, now func() time.Time) (http.Handler, error) {
	hasher := newHasher(cfg.Password, m, log, fg)
	cookies := token.NewCookies(token.NewJWT(token.Secrets{Current: cfg.Auth.JWTSecret, Previous: cfg.Auth.JWTPreviousSecrets}, now), token.CookieConfig{
		Name: cfg.Cookie.Name, Secure: cfg.Cookie.Secure, SameSite: cfg.Cookie.SameSite,
	})
	policy := session.Policy{TTL: cfg.Auth.SessionTTL, RefreshRatio: cfg.Auth.SessionRefreshRatio, AbsoluteTTL: cfg.Auth.SessionAbsoluteTTL}
	guard := passwordGuard(cfg)
	minLen := cfg.Password.MinLength
	accounts := user.AccountRules{MinPasswordLen: minLen, EmailRequired: cfg.Auth.RequireEmail}
	templates, err := mailer.LoadTemplates(cfg.Mail.TemplatesDir)
	if err != nil {
		return nil, err
	}
	outbox := mailer.NewOutbox(store, templates, now)
	links := mailLinks(cfg.Mail)

	authn := authenticate.NewMiddleware(authenticate.New(store, policy, now), cookies, httpserver.AuditSource)
	healthH := health.NewHandler(health.New(store, drain, time.Second))
	signupH := signup.NewHandler(signup.New(store, hasher, outbox, links, signup.Limit{Max: cfg.Auth.MaxSignupsPerIP, Window: cfg.Auth.SignupWindow}, accounts, now))
	loginH := login.NewHandler(login.New(store, store, store, store, hasher, m, policy, guard, login.Limits{SessionsPerUser: cfg.Auth.MaxSessionsPerUser, PendingTTL: cfg.Auth.MFAPendingTTL}, now), cookies)
	logoutH := logout.NewHandler(logout.New(store, now), cookies)
	changePasswordH := changepassword.NewHandler(changepassword.New(store, hasher, outbox, policy, guard, minLen, now), cookies)
	listSessionsH := listsessions.NewHandler(listsessions.New(store, now))
	endSessionH := endsession.NewHandler(endsession.New(store, now), cookies)
	endOtherSessionsH := endothersessions.NewHandler(endothersessions.New(store, now))
	activityH := listactivity.NewHandler(listactivity.New(store))
	createUserH := createuser.NewHandler(createuser.New(store, hasher, outbox, links, accounts, now))
	listUsersH := listusers.NewHandler(listusers.New(store))
	inactivateH := inactivateuser.NewHandler(inactivateuser.New(store, now))
	reactivateH := reactivateuser.NewHandler(reactivateuser.New(store, now))
	grantH := grantadmin.NewHandler(grantadmin.New(store, now))
	revokeH := revokeadmin.NewHandler(revokeadmin.New(store, now))
	setPasswordH := setuserpassword.NewHandler(setuserpassword.New(store, hasher, outbox, minLen, now))
	listUserSessionsH := listusersessions.NewHandler(listusersessions.New(store, now))
	endUserSessionsH := endusersessions.NewHandler(endusersessions.New(store, now))
	auditH := listauditevents.NewHandler(listauditevents.New(store))
	sendVerificationH := sendverification.NewHandler(sendverification.New(store, outbox, links, now))
	verifyEmailH := verifyemail.NewHandler(verifyemail.New(store, now))
	recovery := requestrecovery.New(store, outbox, links, requestrecovery.Limits{
		PerIP: loginFailuresPerIP, Window: cfg.Auth.FailureWindow, PerAddress: cfg.Mail.MaxRecoveryPerHour, Key: guard.Key,
	}, now)
	bg.Go(func(ctx context.Context) {
		recovery.Run(ctx, func(err error) { log.Error("recovery request", "error", err) })
	})
	requestRecoveryH := requestrecovery.NewHandler(recovery)
	confirmRecoveryH := confirmrecovery.NewHandler(confirmrecovery.New(store, hasher, outbox, guard, minLen, now))
	changeEmailH := changeemail.NewHandler(changeemail.New(store, hasher, outbox, links, guard, cfg.Auth.RequireEmail, now))
	keys := mfakeys.New(cfg.MFA.EncryptionKey, cfg.MFA.PreviousEncryptionKeys)
	apps := totp.Authenticator{Issuer: cfg.WebAuthn.RPDisplayName}
	rp, err := passkeys.New(cfg.WebAuthn.RPID, cfg.WebAuthn.RPDisplayName, cfg.WebAuthn.RPOrigins)
	if err != nil {
		return nil, err
	}
	signins := signin.Rules{Policy: policy, SessionsPerUser: cfg.Auth.MaxSessionsPerUser}
	ceremonies := auth.CeremonyLimit{PerIP: ceremoniesPerIP, Window: cfg.Auth.FailureWindow}
	loginMFAH := loginmfa.NewHandler(loginmfa.New(loginmfa.Ports{Pending: store, Users: store, Factors: store, Passkeys: store, Sessions: store,
		Throttle: store, Trail: store, Keys: keys, Codes: apps, Ceremonies: rp}, signins, guard, ceremonies, now), cookies)
	listMFAH := listmfa.NewHandler(listmfa.New(store))
	setupTOTPH := setuptotp.NewHandler(setuptotp.New(store, hasher, keys, apps, guard, now))
	enableTOTPH := enabletotp.NewHandler(enabletotp.New(store, outbox, keys, apps, guard, now))
	disableTOTPH := disabletotp.NewHandler(disabletotp.New(store, outbox, hasher, guard, now))
	recoveryCodesH := regeneratecodes.NewHandler(regeneratecodes.New(store, outbox, hasher, keys, guard, now))
	resetMFAH := resetmfa.NewHandler(resetmfa.New(store, outbox, now))
	registerPasskeyH := registerpasskey.NewHandler(registerpasskey.New(store, outbox, hasher, rp, keys, guard, now))
	removePasskeyH := removepasskey.NewHandler(removepasskey.New(store, outbox, hasher, guard, now))
	passkeyLoginH := passkeylogin.NewHandler(passkeylogin.New(store, rp, signins, ceremonies, now), cookies)

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
	})
	if err != nil {
		return nil, err
	}
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

	// Routes that hash a password wait for their turn here, before any
	// database work: a login flood queues (bounded, then 503) instead of
	// filling the database pool that every other request needs.
	hashing := httpserver.Limit(2*cfg.Password.MaxConcurrency, cfg.Password.QueueTimeout, fg)

	api := e.Group("/api/v1")
	api.GET("", healthH.Status)
	api.POST("/auth/signup", signupH.Handle, hashing, authn.Optional)
	api.POST("/auth/login", loginH.Handle, hashing, authn.Optional)
	api.POST("/auth/login/mfa", loginMFAH.Handle, authn.Optional)
	api.POST("/auth/login/webauthn/begin", loginMFAH.Begin, authn.Optional)
	api.POST("/auth/login/webauthn/finish", loginMFAH.Handle, authn.Optional)
	api.POST("/auth/passkey/begin", passkeyLoginH.Begin, authn.Optional)
	api.POST("/auth/passkey/finish", passkeyLoginH.Finish, authn.Optional)
	api.DELETE("/auth/logout", logoutH.Handle, authn.Required)
	api.GET("/auth/me", me.Handle, authn.Required)
	api.PUT("/auth/password", changePasswordH.Handle, hashing, authn.Required)
	api.GET("/auth/sessions", listSessionsH.Handle, authn.Required)
	api.DELETE("/auth/sessions", endOtherSessionsH.Handle, authn.Required)
	api.DELETE("/auth/sessions/:id", endSessionH.Handle, authn.Required)
	api.GET("/auth/activity", activityH.Handle, authn.Required)
	api.PUT("/auth/email", changeEmailH.Handle, hashing, authn.Required)
	api.POST("/auth/email/verification", sendVerificationH.Handle, authn.Required)
	api.POST("/auth/email/verify", verifyEmailH.Handle)
	api.POST("/auth/recovery", requestRecoveryH.Handle)
	api.POST("/auth/recovery/confirm", confirmRecoveryH.Handle, hashing)
	api.GET("/auth/mfa", listMFAH.Handle, authn.Required)
	api.POST("/auth/mfa/totp/setup", setupTOTPH.Handle, hashing, authn.Required)
	api.POST("/auth/mfa/totp/enable", enableTOTPH.Handle, authn.Required)
	api.POST("/auth/mfa/totp/disable", disableTOTPH.Handle, hashing, authn.Required)
	api.POST("/auth/mfa/recovery-codes", recoveryCodesH.Handle, hashing, authn.Required)
	api.POST("/auth/mfa/webauthn/register/begin", registerPasskeyH.Begin, hashing, authn.Required)
	api.POST("/auth/mfa/webauthn/register/finish", registerPasskeyH.Finish, authn.Required)
	api.POST("/auth/mfa/webauthn/remove", removePasskeyH.Handle, hashing, authn.Required)
	api.POST("/users", createUserH.Handle, hashing, authn.Required)
	api.GET("/users", listUsersH.Handle, authn.Required)
	api.PATCH("/users/inactivate", inactivateH.Handle, authn.Required)
	api.PATCH("/users/reactivate", reactivateH.Handle, authn.Required)
	api.PATCH("/users/grant", grantH.Handle, authn.Required)
	api.PATCH("/users/revoke", revokeH.Handle, authn.Required)
	api.PATCH("/users/password", setPasswordH.Handle, hashing, authn.Required)
	api.GET("/users/sessions", listUserSessionsH.Handle, authn.Required)
	api.DELETE("/users/sessions", endUserSessionsH.Handle, authn.Required)
	api.PATCH("/users/reset-mfa", resetMFAH.Handle, authn.Required)
	api.GET("/audit", auditH.Handle, authn.Required)
	return e, nil
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

// retention says how long purged rows are kept.
type retention struct {
	Attempts time.Duration // attempt windows, from their start: the longest window
	Audit    time.Duration // audit events; 0 keeps them all
	Mail     time.Duration // finished messages of the outbox
}

// purge deletes expired sessions, stale attempt windows, finished mail,
// expired one-time tokens, pending logins and WebAuthn ceremonies, and audit
// events past their retention every interval until ctx is done. A failed
// round is logged and retried at the next tick.
func purge(ctx context.Context, store *sqlstore.Store, m *metrics.Metrics, log *slog.Logger, keep retention, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		sessions, err := store.DeleteExpiredSessions(ctx, now)
		if err != nil {
			log.Warn("purge expired sessions", "error", err)
			continue
		}
		windows, err := store.DeleteStaleAttempts(ctx, now.Add(-keep.Attempts))
		if err != nil {
			log.Warn("purge stale attempt windows", "error", err)
			continue
		}
		mails, err := store.DeleteOldMail(ctx, now.Add(-keep.Mail))
		if err != nil {
			log.Warn("purge old mail", "error", err)
			continue
		}
		tokens, err := store.DeleteExpiredTokens(ctx, now)
		if err != nil {
			log.Warn("purge expired tokens", "error", err)
			continue
		}
		pending, err := store.DeleteExpiredPendingLogins(ctx, now)
		if err != nil {
			log.Warn("purge expired pending logins", "error", err)
			continue
		}
		ceremonies, err := store.DeleteExpiredCeremonies(ctx, now)
		if err != nil {
			log.Warn("purge expired webauthn ceremonies", "error", err)
			continue
		}
		m.SessionsEnded(session.EndedByExpiry, int(sessions))
		var events int64
		if keep.Audit > 0 {
			if events, err = store.DeleteOldAuditEvents(ctx, now.Add(-keep.Audit)); err != nil {
				log.Warn("purge old audit events", "error", err, "purged", events)
				continue
			}
		}
		if sessions+windows+mails+tokens+pending+ceremonies+events > 0 {
			log.Info("purged", "sessions", sessions, "attempt_windows", windows, "mail", mails, "tokens", tokens,
				"pending_logins", pending, "webauthn_ceremonies", ceremonies, "audit_events", events)
		}
	}
}

// openStore opens the configured database. audited, when not nil, hears of
// every audit event once it has committed.
func openStore(ctx context.Context, cfg config.Database, audited func(audit.Event)) (*sqlstore.Store, error) {
	if cfg.Engine() == "sqlite" {
		return sqlite.Open(ctx, cfg.SQLitePath(), sqlite.Options{MaxOpenConns: cfg.MaxOpenConns, BusyTimeout: cfg.ResponseTimeout, Audited: audited})
	}
	return postgres.Open(ctx, cfg.URL, postgres.Options{MaxOpenConns: cfg.MaxOpenConns, NoPrepare: !cfg.PreparedStatements, ResponseTimeout: cfg.ResponseTimeout, Audited: audited})
}

// audited returns what hears of each committed audit event: one log line
// (msg=audit) for the operators' log store, and the metrics (m may be nil:
// the CLI has none).
func audited(log *slog.Logger, m *metrics.Metrics) func(audit.Event) {
	return func(e audit.Event) {
		if m != nil {
			m.Audited(e)
		}
		log.LogAttrs(context.Background(), slog.LevelInfo, "audit",
			slog.String("type", string(e.Type)),
			slog.String("event_id", e.ID.String()),
			slog.String("actor_id", partyID(e.Actor)),
			slog.String("target_id", partyID(e.Target)),
			slog.String("ip", e.IP),
			slog.String("request_id", e.RequestID),
			slog.Any("details", e.Details))
	}
}

// partyID is an event party's id in a log line: empty for nobody.
func partyID(p audit.Party) string {
	if p.ID.IsNil() {
		return ""
	}
	return p.ID.String()
}

func newMigrator(cfg config.Database) (*sqlstore.Migrator, error) {
	if cfg.Engine() == "sqlite" {
		return sqlite.NewMigrator(cfg.SQLitePath())
	}
	return postgres.NewMigrator(cfg.URL)
}

// openMigrated applies pending migrations first when migrate is true, then
// opens the store.
func openMigrated(ctx context.Context, cfg config.Database, migrate bool, audited func(audit.Event)) (*sqlstore.Store, error) {
	if migrate {
		m, err := newMigrator(cfg)
		if err != nil {
			return nil, err
		}
		err = m.Up()
		m.Close()
		if err != nil {
			return nil, err
		}
	}
	return openStore(ctx, cfg, audited)
}

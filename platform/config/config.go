// Package config loads cleanslice's configuration from config.toml and
// CLEANSLICE_* environment variables. It is the only user of viper, and it
// uses its own instance, never the global one.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/viper"

	"github.com/cleanslice/cleanslice/shared/user"
)

// EnvPrefix prefixes every environment override: CLEANSLICE_<SECTION>_<KEY>.
const EnvPrefix = "CLEANSLICE"

// The development secrets shipped in config.toml. Production refuses them.
const (
	DevJWTSecret = "dev-only-jwt-secret-change-me-0123456789abcdef"
	DevPepper    = "dev-only-password-pepper-change-me-0123456789"
	DevMFAKey    = "dev-only-mfa-encryption-key-change-me-012345"
)

// WriteTimeout is the HTTP server's write timeout: the longest any answer
// can take to be written. MaxRequestTimeout keeps the request deadline
// below it, with room to write the 503.
const (
	WriteTimeout      = 30 * time.Second
	MaxRequestTimeout = WriteTimeout - 5*time.Second
)

// MinSecretLen is the shortest jwt secret or pepper accepted.
const MinSecretLen = 32

// The weakest password settings production accepts: argon2id's memory x
// iterations (KiB) and memory, and the shortest password.
const (
	MinArgon2Work      = 38912
	MinArgon2MemoryKiB = 7168
	MinPasswordLength  = 8
)

// Config is the validated configuration.
type Config struct {
	Env      string // "development" or "production"
	HTTP     HTTP
	Database Database
	Auth     Auth
	Audit    Audit
	Cookie   Cookie
	Password Password
	Log      Log
	Metrics  Metrics
	Mail     Mail
	MFA      MFA
	WebAuthn WebAuthn
	Webhooks Webhooks
	OAuth    OAuth
	APIKeys  APIKeys
}

// Webhooks configures the delivery of events to webhook endpoints.
type Webhooks struct {
	// AllowPrivateTargets lets deliveries reach loopback, private and
	// unspecified addresses (link-local ones stay refused).
	AllowPrivateTargets bool
}

// APIKeys configures API keys (SPEC 4f).
type APIKeys struct {
	MaxTTL time.Duration // the longest lifetime a key may be given
}

// WebAuthn is the relying party passkeys are made for: its id (a domain;
// credentials are bound to it), the name authenticators show, and the
// origins whose pages may run the ceremonies.
type WebAuthn struct {
	RPID          string
	RPDisplayName string
	RPOrigins     []string
}

// Mail configures outgoing mail.
type Mail struct {
	Transport    string // log or smtp
	SMTPURL      string // smtp://user:pass@host:port
	SMTPTLS      string // starttls, implicit or none
	From         string
	TemplatesDir string // overrides the embedded templates, file by file
	MaxAttempts  int
	// VerificationURL is the link of a verification message: {token} in
	// its fragment.
	VerificationURL string
	VerificationTTL time.Duration
	// RecoveryURL is the link of a recovery message: {token} in its
	// fragment.
	RecoveryURL        string
	RecoveryTTL        time.Duration
	MaxRecoveryPerHour int // messages per address and hour; more requests are answered, not sent
}

// Production reports whether the service runs in production mode.
func (c Config) Production() bool { return c.Env == "production" }

// HTTP configures the listener.
type HTTP struct {
	Address string
	// PublicURL is where browsers reach the service (behind any proxy):
	// the start of its own links, identity providers' redirect URIs
	// included, never taken from a request's Host header.
	PublicURL       string
	RequestTimeout  time.Duration
	ShutdownDelay   time.Duration
	ShutdownTimeout time.Duration
	TrustedOrigins  []string
	TrustedProxies  []string
}

// Database configures the store.
type Database struct {
	URL                string // sqlite:<path> or postgres://...
	MigrateOnStart     bool
	MaxOpenConns       int
	PreparedStatements bool // off behind a pooler in transaction mode
	ResponseTimeout    time.Duration
}

// Engine returns "sqlite" or "postgres".
func (d Database) Engine() string {
	if strings.HasPrefix(d.URL, "sqlite:") {
		return "sqlite"
	}
	return "postgres"
}

// SQLitePath returns the file path of a sqlite: URL.
func (d Database) SQLitePath() string { return strings.TrimPrefix(d.URL, "sqlite:") }

// Auth configures sessions and login throttling.
type Auth struct {
	JWTSecret           string
	JWTPreviousSecrets  []string // still verify; re-issued with JWTSecret
	SessionTTL          time.Duration
	SessionRefreshRatio float64
	SessionAbsoluteTTL  time.Duration
	MaxFailedLogins     int
	FailureWindow       time.Duration
	MaxSessionsPerUser  int
	MaxSignupsPerIP     int // 0: no limit
	SignupWindow        time.Duration
	RequireEmail        bool          // an address at signup and creation
	MFAPendingTTL       time.Duration // how long a login's second step may wait
	// RequireSecondFactorFor are the roles whose users must enroll a
	// second factor before they use anything but their account's basics.
	RequireSecondFactorFor []user.Role
}

// MFA configures second factors: the keys their secrets are sealed with.
type MFA struct {
	EncryptionKey          string
	PreviousEncryptionKeys []string // still open; secrets are sealed again with EncryptionKey
}

// Cookie configures the session cookie.
type Cookie struct {
	Name     string
	Secure   bool
	SameSite string // lax, strict or none
}

// Password configures hashing.
type Password struct {
	Pepper            string
	PreviousPeppers   []string // still verify the hashes they made
	MinLength         int
	Argon2MemoryKiB   uint32
	Argon2Iterations  uint32
	Argon2Parallelism uint8
	MaxConcurrency    int
	QueueTimeout      time.Duration
}

// Log configures logging.
type Log struct {
	Level  string // debug, info, warn, error
	Format string // text or json ("auto" in the file: text in development, json in production)
}

// Audit configures the audit trail.
type Audit struct {
	Retention time.Duration // events older than this are purged; 0 keeps every event
}

// Metrics configures the Prometheus endpoint.
type Metrics struct {
	Enabled bool
	Address string // empty: served on the main listener
}

// Defaults is every key with its default value. config.toml repeats them with
// comments; a default for every key also makes every env override work.
var Defaults = map[string]any{
	"env":                            "development",
	"http.address":                   ":8000",
	"http.public_url":                "http://localhost:8000",
	"oauth.providers":                []any{},
	"http.request_timeout":           "5s",
	"http.shutdown_delay":            "0s",
	"http.shutdown_timeout":          "15s",
	"http.trusted_origins":           []string{},
	"http.trusted_proxies":           []string{},
	"database.url":                   "sqlite:data/cleanslice.db",
	"database.migrate_on_start":      true,
	"database.max_open_conns":        20,
	"database.prepared_statements":   true,
	"database.response_timeout":      "4s",
	"auth.jwt_secret":                DevJWTSecret,
	"auth.jwt_previous_secrets":      []string{},
	"auth.session_ttl":               "15m",
	"auth.session_refresh_ratio":     0.2,
	"auth.session_absolute_ttl":      "24h",
	"auth.max_failed_logins":         5,
	"auth.failure_window":            "15m",
	"auth.max_sessions_per_user":     50,
	"auth.max_signups_per_ip":        30,
	"auth.signup_window":             "1h",
	"auth.require_email":             false,
	"auth.mfa_pending_ttl":           "5m",
	"auth.require_second_factor_for": []string{},
	"mfa.encryption_key":             DevMFAKey,
	"mfa.previous_encryption_keys":   []string{},
	"webauthn.rp_id":                 "localhost",
	"webauthn.rp_display_name":       "cleanslice",
	"webauthn.rp_origins":            []string{"http://localhost:8000"},
	"audit.retention":                "8760h",
	"api_keys.max_ttl":               "8760h",
	"cookie.name":                    "access_token",
	"cookie.secure":                  false,
	"cookie.same_site":               "lax",
	"password.pepper":                DevPepper,
	"password.previous_peppers":      []string{},
	"password.min_length":            8,
	"password.argon2_memory_kib":     19456,
	"password.argon2_iterations":     2,
	"password.argon2_parallelism":    1,
	"password.max_concurrency":       0,
	"password.queue_timeout":         "1s",
	"log.level":                      "info",
	"log.format":                     "auto",
	"metrics.enabled":                true,
	"metrics.address":                "",
	"mail.transport":                 "log",
	"mail.smtp_url":                  "",
	"mail.smtp_tls":                  "starttls",
	"mail.from":                      "cleanslice <no-reply@localhost>",
	"mail.templates_dir":             "",
	"mail.max_attempts":              8,
	"mail.verification_url":          "",
	"mail.verification_ttl":          "24h",
	"mail.recovery_url":              "",
	"mail.recovery_ttl":              "1h",
	"mail.max_recovery_per_hour":     3,
	"webhooks.allow_private_targets": false,
}

// Error lists every problem found in the configuration.
type Error struct{ Problems []string }

func (e *Error) Error() string {
	noun := "problems"
	if len(e.Problems) == 1 {
		noun = "problem"
	}
	return fmt.Sprintf("config: %d %s: %s", len(e.Problems), noun, strings.Join(e.Problems, "; "))
}

// Load reads the file at path (when path is empty: config.toml in the working
// directory if there is one) and the environment, and validates the result.
// getenv is os.Getenv in production and a map lookup in tests.
func Load(path string, getenv func(string) string) (Config, error) {
	v := viper.New()
	for k, d := range Defaults {
		v.SetDefault(k, d)
	}
	// Bind every key explicitly rather than AutomaticEnv, so the lookup goes
	// through getenv and tests need not touch the process environment.
	env := map[string]string{}
	for k := range Defaults {
		name := EnvName(k)
		if val := getenv(name); val != "" {
			env[k] = val
		}
	}
	v.SetConfigType("toml")
	switch {
	case path != "":
		f, err := os.Open(path)
		if err != nil {
			return Config{}, &Error{Problems: []string{fmt.Sprintf("cannot read %s: %v", path, err)}}
		}
		defer f.Close()
		if err := v.ReadConfig(f); err != nil {
			return Config{}, &Error{Problems: []string{fmt.Sprintf("cannot parse %s: %v", path, err)}}
		}
	default:
		if f, err := os.Open("config.toml"); err == nil {
			defer f.Close()
			if err := v.ReadConfig(f); err != nil {
				return Config{}, &Error{Problems: []string{fmt.Sprintf("cannot parse config.toml: %v", err)}}
			}
		}
	}
	p := parser{v: v, env: env, src: map[string]string{}}
	p.readSecretFiles(getenv)
	for _, k := range v.AllKeys() {
		if _, known := Defaults[k]; !known {
			p.problem("%s: unknown key", k)
		}
	}
	c := Config{
		Env: p.str("env"),
		HTTP: HTTP{
			Address:         p.str("http.address"),
			PublicURL:       strings.TrimRight(p.str("http.public_url"), "/"),
			RequestTimeout:  p.duration("http.request_timeout"),
			ShutdownDelay:   p.duration("http.shutdown_delay"),
			ShutdownTimeout: p.duration("http.shutdown_timeout"),
			TrustedOrigins:  p.list("http.trusted_origins"),
			TrustedProxies:  p.list("http.trusted_proxies"),
		},
		Database: Database{
			URL:                p.str("database.url"),
			MigrateOnStart:     p.boolean("database.migrate_on_start"),
			MaxOpenConns:       p.integer("database.max_open_conns", 1, 1000),
			PreparedStatements: p.boolean("database.prepared_statements"),
			ResponseTimeout:    p.duration("database.response_timeout"),
		},
		Auth: Auth{
			JWTSecret:              p.str("auth.jwt_secret"),
			JWTPreviousSecrets:     p.list("auth.jwt_previous_secrets"),
			SessionTTL:             p.duration("auth.session_ttl"),
			SessionRefreshRatio:    p.float("auth.session_refresh_ratio"),
			SessionAbsoluteTTL:     p.duration("auth.session_absolute_ttl"),
			MaxFailedLogins:        p.integer("auth.max_failed_logins", 1, 1000),
			FailureWindow:          p.duration("auth.failure_window"),
			MaxSessionsPerUser:     p.integer("auth.max_sessions_per_user", 1, 1000),
			MaxSignupsPerIP:        p.integer("auth.max_signups_per_ip", 0, 1000000),
			SignupWindow:           p.duration("auth.signup_window"),
			RequireEmail:           p.boolean("auth.require_email"),
			MFAPendingTTL:          p.duration("auth.mfa_pending_ttl"),
			RequireSecondFactorFor: p.roles("auth.require_second_factor_for"),
		},
		MFA: MFA{
			EncryptionKey:          p.str("mfa.encryption_key"),
			PreviousEncryptionKeys: p.list("mfa.previous_encryption_keys"),
		},
		WebAuthn: WebAuthn{
			RPID:          strings.ToLower(p.str("webauthn.rp_id")),
			RPDisplayName: p.str("webauthn.rp_display_name"),
			RPOrigins:     p.list("webauthn.rp_origins"),
		},
		Audit:    Audit{Retention: p.duration("audit.retention")},
		Webhooks: Webhooks{AllowPrivateTargets: p.boolean("webhooks.allow_private_targets")},
		APIKeys:  APIKeys{MaxTTL: p.duration("api_keys.max_ttl")},
		OAuth:    OAuth{Providers: p.providers(getenv)},
		Cookie: Cookie{
			Name:     p.str("cookie.name"),
			Secure:   p.boolean("cookie.secure"),
			SameSite: strings.ToLower(p.str("cookie.same_site")),
		},
		Password: Password{
			Pepper:            p.str("password.pepper"),
			PreviousPeppers:   p.list("password.previous_peppers"),
			MinLength:         p.integer("password.min_length", 1, 128),
			Argon2MemoryKiB:   uint32(p.integer("password.argon2_memory_kib", 8, 4<<20)),
			Argon2Iterations:  uint32(p.integer("password.argon2_iterations", 1, 100)),
			Argon2Parallelism: uint8(p.integer("password.argon2_parallelism", 1, 255)),
			MaxConcurrency:    p.integer("password.max_concurrency", 0, 4096),
			QueueTimeout:      p.duration("password.queue_timeout"),
		},
		Log: Log{
			Level:  strings.ToLower(p.str("log.level")),
			Format: strings.ToLower(p.str("log.format")),
		},
		Metrics: Metrics{
			Enabled: p.boolean("metrics.enabled"),
			Address: p.str("metrics.address"),
		},
		Mail: Mail{
			Transport:    strings.ToLower(p.str("mail.transport")),
			SMTPURL:      p.str("mail.smtp_url"),
			SMTPTLS:      strings.ToLower(p.str("mail.smtp_tls")),
			From:         p.str("mail.from"),
			TemplatesDir: p.str("mail.templates_dir"),
			MaxAttempts:  p.integer("mail.max_attempts", 1, 100),

			VerificationURL:    p.str("mail.verification_url"),
			VerificationTTL:    p.duration("mail.verification_ttl"),
			RecoveryURL:        p.str("mail.recovery_url"),
			RecoveryTTL:        p.duration("mail.recovery_ttl"),
			MaxRecoveryPerHour: p.integer("mail.max_recovery_per_hour", 1, 100),
		},
	}
	if c.Log.Format == "auto" {
		c.Log.Format = "text"
		if c.Production() {
			c.Log.Format = "json"
		}
	}
	// The service's own links start with its public URL (SPEC 4d): unless
	// they point at a front-end's pages, the mail links open the pages
	// this service serves there.
	if c.Mail.VerificationURL == "" {
		c.Mail.VerificationURL = c.HTTP.PublicURL + "/account/verify#token={token}"
	}
	if c.Mail.RecoveryURL == "" {
		c.Mail.RecoveryURL = c.HTTP.PublicURL + "/account/recover#token={token}"
	}
	if c.Password.MaxConcurrency == 0 {
		// The CPUs Go runs on: a container's CPU limit, else the cores.
		c.Password.MaxConcurrency = runtime.GOMAXPROCS(0)
	}
	p.problems = append(p.problems, c.validate()...)
	if len(p.problems) > 0 {
		slices.Sort(p.problems)
		return Config{}, &Error{Problems: p.problems}
	}
	return c, nil
}

// SecretKeys can be read from a file named by their environment variable
// with _FILE appended (CLEANSLICE_AUTH_JWT_SECRET_FILE=/run/secrets/jwt), as
// container secrets are mounted.
var SecretKeys = []string{"auth.jwt_secret", "auth.jwt_previous_secrets", "password.pepper", "password.previous_peppers", "database.url", "mail.smtp_url", "mfa.encryption_key", "mfa.previous_encryption_keys"}

// readSecretFiles takes the value of each secret key whose _FILE variable is
// set from that file, one trailing newline trimmed. Setting both forms, or
// a file that cannot be read, is a problem naming the key and the path,
// never the content.
func (p *parser) readSecretFiles(getenv func(string) string) {
	for _, k := range SecretKeys {
		name := EnvName(k) + "_FILE"
		path := getenv(name)
		if path == "" {
			continue
		}
		if getenv(EnvName(k)) != "" {
			p.problem("%s: both %s and %s are set; use one", k, EnvName(k), name)
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			p.problem("%s: cannot read %s=%s: %v", k, name, path, err)
			continue
		}
		v := strings.TrimSuffix(string(b), "\n")
		p.env[k] = strings.TrimSuffix(v, "\r")
		p.src[k] = name + "=" + path
	}
}

// EnvName returns the environment variable that overrides key.
func EnvName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

func (c Config) validate() []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if c.Env != "development" && c.Env != "production" {
		add("env must be development or production, not %q", c.Env)
	}
	if c.HTTP.Address == "" {
		add("http.address must not be empty")
	}
	notNegative := map[string]time.Duration{
		"http.shutdown_delay":       c.HTTP.ShutdownDelay,
		"http.shutdown_timeout":     c.HTTP.ShutdownTimeout,
		"auth.session_ttl":          c.Auth.SessionTTL,
		"auth.session_absolute_ttl": c.Auth.SessionAbsoluteTTL,
		"audit.retention":           c.Audit.Retention,
		"password.queue_timeout":    c.Password.QueueTimeout,
	}
	for _, k := range sortedKeys(notNegative) {
		if notNegative[k] < 0 {
			add("%s must be positive", k)
		}
	}
	// A window of 0 would count nothing: the throttle silently off.
	windows := map[string]time.Duration{"auth.failure_window": c.Auth.FailureWindow, "auth.signup_window": c.Auth.SignupWindow}
	if c.APIKeys.MaxTTL < time.Minute {
		add("api_keys.max_ttl must be at least 1m (the shortest lifetime a key may have)")
	}
	if t := c.Auth.MFAPendingTTL; t < 30*time.Second || t > time.Hour {
		add("auth.mfa_pending_ttl must be between 30s and 1h (time to type a code, not a session)")
	}
	for _, k := range sortedKeys(windows) {
		if windows[k] <= 0 {
			add("%s must be above 0 (a window of 0 switches the throttle off)", k)
		}
	}
	if t := c.HTTP.RequestTimeout; t <= 0 || t > MaxRequestTimeout {
		add("http.request_timeout must be above 0 and at most %s (the server's write timeout is %s)", MaxRequestTimeout, WriteTimeout)
	}
	if t := c.Database.ResponseTimeout; t <= 0 || t >= c.HTTP.RequestTimeout {
		add("database.response_timeout must be above 0 and below http.request_timeout (%s), so a silent database is noticed before the request's deadline", c.HTTP.RequestTimeout)
	}
	if c.Auth.SessionAbsoluteTTL > 0 && c.Auth.SessionAbsoluteTTL < c.Auth.SessionTTL {
		add("auth.session_absolute_ttl must not be shorter than auth.session_ttl")
	}
	if r := c.Auth.SessionRefreshRatio; r < 0 || r > 1 {
		add("auth.session_refresh_ratio must be between 0 and 1")
	}
	switch u := c.Database.URL; {
	case strings.HasPrefix(u, "sqlite:"):
		if strings.TrimPrefix(u, "sqlite:") == "" {
			add("database.url: sqlite: needs a file path")
		}
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		if _, err := url.Parse(u); err != nil {
			add("database.url: %v", errors.Unwrap(err))
		}
	default:
		scheme, _, _ := strings.Cut(u, ":")
		add("database.url: unsupported scheme %q (use sqlite:<path> or postgres://...)", scheme)
	}
	// Every generation of a secret, from any source, meets the same rules.
	generations := map[string][]string{
		"auth.jwt_secret":              {c.Auth.JWTSecret},
		"auth.jwt_previous_secrets":    c.Auth.JWTPreviousSecrets,
		"password.pepper":              {c.Password.Pepper},
		"password.previous_peppers":    c.Password.PreviousPeppers,
		"mfa.encryption_key":           {c.MFA.EncryptionKey},
		"mfa.previous_encryption_keys": c.MFA.PreviousEncryptionKeys,
	}
	for _, k := range sortedKeys(generations) {
		for i, secret := range generations[k] {
			name := k
			if strings.Contains(k, "previous") {
				name = fmt.Sprintf("%s[%d]", k, i)
			}
			if len(secret) < MinSecretLen {
				add("%s must be at least %d bytes", name, MinSecretLen)
			}
			if c.Production() && (secret == DevJWTSecret || secret == DevPepper || secret == DevMFAKey) {
				add("%s: the development value is refused in production", name)
			}
		}
	}
	if c.Cookie.Name == "" {
		add("cookie.name must not be empty")
	}
	// Browsers drop a prefixed cookie that is not Secure: every login
	// would seem to work and leave no session.
	for _, prefix := range []string{"__Host-", "__Secure-"} {
		if strings.HasPrefix(c.Cookie.Name, prefix) && !c.Cookie.Secure {
			add("cookie.name %q needs cookie.secure = true (browsers refuse a %s cookie that is not Secure)", c.Cookie.Name, prefix)
		}
	}
	switch c.Cookie.SameSite {
	case "lax", "strict":
	case "none":
		if !c.Cookie.Secure {
			add("cookie.same_site = none requires cookie.secure = true")
		}
	default:
		add("cookie.same_site must be lax, strict or none, not %q", c.Cookie.SameSite)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level must be debug, info, warn or error, not %q", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		add("log.format must be text, json or auto, not %q", c.Log.Format)
	}
	for _, o := range c.HTTP.TrustedOrigins {
		// Exactly what a browser sends in Origin: scheme://host[:port].
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Contains(u.Host, "*") || o != u.Scheme+"://"+u.Host {
			add("http.trusted_origins: %q is not an origin like https://app.example.com (scheme://host[:port], no path, no wildcard)", o)
		}
	}
	for _, p := range c.HTTP.TrustedProxies {
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			add("http.trusted_proxies: %q is neither an IP address nor a CIDR range", p)
		}
	}
	problems = append(problems, c.Mail.validate(c.Production())...)
	problems = append(problems, c.WebAuthn.validate(c.Production())...)
	if err := checkPublicURL(c.HTTP.PublicURL); err != nil {
		add("%v", err)
	}
	problems = append(problems, c.OAuth.validate(c.Production(), c.HTTP.PublicURL)...)
	if c.Production() {
		if !c.Cookie.Secure {
			add("cookie.secure must be true in production")
		}
		// /metrics tells how the service is used (logins by outcome,
		// routes, the database pool): for the operators' network only.
		if c.Metrics.Enabled && c.Metrics.Address == "" {
			add("metrics.enabled needs its own metrics.address in production (e.g. \"127.0.0.1:9090\"), not /metrics on the public listener; or metrics.enabled = false")
		}
		// OWASP's argon2id minimum (m=19 MiB, t=2), or as much work with
		// more iterations over less memory, down to 7 MiB.
		if m, t := uint64(c.Password.Argon2MemoryKiB), uint64(c.Password.Argon2Iterations); m*t < MinArgon2Work || m < MinArgon2MemoryKiB {
			add("password.argon2_memory_kib x password.argon2_iterations must be at least %d KiB and the memory at least %d KiB in production (OWASP's argon2id minimum is m=19456, t=2), not m=%d, t=%d", MinArgon2Work, MinArgon2MemoryKiB, m, t)
		}
		if c.Password.MinLength < MinPasswordLength {
			add("password.min_length must be at least %d in production, not %d", MinPasswordLength, c.Password.MinLength)
		}
	}
	return problems
}

func (m Mail) validate(production bool) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	switch m.Transport {
	case "log":
		if production {
			add("mail.transport = log writes messages (their links included) to the log instead of sending them: refused in production; use smtp")
		}
	case "smtp":
		u, err := url.Parse(m.SMTPURL)
		switch {
		case m.SMTPURL == "":
			add("mail.smtp_url is required with mail.transport = smtp")
		case err != nil || u.Scheme != "smtp" || u.Hostname() == "":
			add("mail.smtp_url must be smtp://[user:password@]host[:port]")
		case m.SMTPTLS == "none" && u.Hostname() != "localhost" && !isLoopbackIP(u.Hostname()):
			add("mail.smtp_tls = none (plain text) is for a mail server on this host only, not %s", u.Hostname())
		}
	default:
		add("mail.transport must be log or smtp, not %q", m.Transport)
	}
	switch m.SMTPTLS {
	case "starttls", "implicit", "none":
	default:
		add("mail.smtp_tls must be starttls, implicit or none, not %q", m.SMTPTLS)
	}
	links := map[string]string{"mail.verification_url": m.VerificationURL, "mail.recovery_url": m.RecoveryURL}
	for _, k := range sortedKeys(links) {
		switch err := checkLinkURL(links[k]); {
		case err != nil:
			add("%s: %v", k, err)
		case production && strings.HasPrefix(strings.ToLower(links[k]), "http:"):
			// Its token would cross the network in the clear.
			add("%s must be an https:// link in production, not %q", k, links[k])
		}
	}
	if m.VerificationTTL <= 0 {
		add("mail.verification_ttl must be above 0")
	}
	if m.RecoveryTTL <= 0 {
		add("mail.recovery_ttl must be above 0")
	}
	if a, err := mail.ParseAddress(m.From); err != nil || a.Address == "" {
		add("mail.from must be an address like \"cleanslice <no-reply@example.com>\", not %q", m.From)
	}
	return problems
}

func isLoopbackIP(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkLinkURL checks the template of a link that carries a token: an
// absolute http(s) URL with {token} in its fragment (a fragment reaches no
// server log or Referer), and nowhere else.
func checkLinkURL(link string) error {
	base, fragment, ok := strings.Cut(link, "#")
	u, err := url.Parse(base)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("%q is not an absolute http(s) URL", link)
	case !ok || !strings.Contains(fragment, "{token}"):
		return fmt.Errorf("%q must carry {token} in its fragment (after #), never in the path or query", link)
	case strings.Contains(base, "{token}"):
		return fmt.Errorf("%q has {token} before the #: tokens travel in the fragment only", link)
	}
	return nil
}

// validate checks the relying party: every origin an origin (scheme, host,
// port: what a browser sends), https but for localhost, and the RP id the
// host of each origin or a parent domain of it (what browsers require of
// a credential's RP id), never an IP address. Production refuses
// localhost and http origins: passkeys made there would be bound to a
// development host.
func (w WebAuthn) validate(production bool) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if w.RPDisplayName == "" {
		add("webauthn.rp_display_name must not be empty")
	}
	switch {
	case w.RPID == "" || strings.ContainsAny(w.RPID, ":/ ") || strings.HasPrefix(w.RPID, ".") || strings.HasSuffix(w.RPID, "."):
		add("webauthn.rp_id %q is not a domain like example.com (no scheme, port or path)", w.RPID)
		return problems
	case net.ParseIP(w.RPID) != nil:
		add("webauthn.rp_id %q is an IP address; browsers accept only a domain", w.RPID)
		return problems
	}
	if production && (w.RPID == "localhost" || strings.HasSuffix(w.RPID, ".localhost")) {
		add("webauthn.rp_id %q is a development host: production needs the service's domain (passkeys are bound to it for good)", w.RPID)
	}
	if len(w.RPOrigins) == 0 {
		add("webauthn.rp_origins must name at least one origin (where the front-end's pages are served)")
	}
	for _, o := range w.RPOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || o != u.Scheme+"://"+u.Host {
			add("webauthn.rp_origins: %q is not an origin like https://app.example.com (scheme://host[:port], no path)", o)
			continue
		}
		host := strings.ToLower(u.Hostname())
		switch {
		case u.Scheme == "http" && production:
			add("webauthn.rp_origins: %q: production needs https origins", o)
		case u.Scheme == "http" && host != "localhost" && !strings.HasSuffix(host, ".localhost"):
			add("webauthn.rp_origins: %q: browsers run passkey ceremonies only on https pages (or http://localhost)", o)
		}
		if host != w.RPID && !strings.HasSuffix(host, "."+w.RPID) {
			add("webauthn.rp_id %q must be %s's host or a parent domain of it", w.RPID, o)
		}
	}
	return problems
}

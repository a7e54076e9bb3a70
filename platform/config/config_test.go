package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/viper"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func problems(t *testing.T, err error) []string {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v (%T), want *config.Error", err, err)
	}
	return ce.Problems
}

// production is a valid production environment: secrets of their own,
// secure cookies, SMTP, https links and relying party, metrics on their own
// listener; settings are added or replace its values.
func production(settings map[string]string) func(string) string {
	env := map[string]string{
		"CLEANSLICE_AUTH_JWT_SECRET":       strings.Repeat("s", 32),
		"CLEANSLICE_PASSWORD_PEPPER":       strings.Repeat("p", 32),
		"CLEANSLICE_MFA_ENCRYPTION_KEY":    strings.Repeat("m", 32),
		"CLEANSLICE_COOKIE_SECURE":         "true",
		"CLEANSLICE_MAIL_TRANSPORT":        "smtp",
		"CLEANSLICE_MAIL_SMTP_URL":         "smtp://user:pass@mail.example.com:587",
		"CLEANSLICE_MAIL_VERIFICATION_URL": "https://app.example.com/verify#token={token}",
		"CLEANSLICE_MAIL_RECOVERY_URL":     "https://app.example.com/recover#token={token}",
		"CLEANSLICE_WEBAUTHN_RP_ID":        "example.com",
		"CLEANSLICE_WEBAUTHN_RP_ORIGINS":   "https://app.example.com",
		"CLEANSLICE_METRICS_ADDRESS":       "127.0.0.1:9090",
	}
	for k, v := range settings {
		env[k] = v
	}
	return envOf(env)
}

func TestShippedConfigMatchesDefaults(t *testing.T) {
	v := viper.New()
	v.SetConfigFile(filepath.Join("..", "..", "config.toml"))
	if err := v.ReadInConfig(); err != nil {
		t.Fatal(err)
	}
	for _, k := range v.AllKeys() {
		if _, ok := Defaults[k]; !ok {
			t.Errorf("config.toml has %s, which has no default", k)
		}
	}
	for k := range Defaults {
		if !v.IsSet(k) {
			t.Errorf("config.toml lacks %s", k)
		}
	}
	c, err := Load(filepath.Join("..", "..", "config.toml"), envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	d, err := Load(writeFile(t, ""), envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Database.URL != d.Database.URL || c.Auth.JWTSecret != d.Auth.JWTSecret || c.Password.Pepper != d.Password.Pepper {
		t.Fatal("config.toml and the built-in defaults disagree")
	}
}

func TestDefaults(t *testing.T) {
	c, err := Load(writeFile(t, ""), envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Address != ":8000" || c.Database.URL != "sqlite:data/cleanslice.db" || !c.Database.MigrateOnStart {
		t.Errorf("unexpected defaults: %+v", c)
	}
	if c.Auth.SessionTTL != 15*time.Minute || c.Auth.SessionAbsoluteTTL != 24*time.Hour || c.Auth.SessionRefreshRatio != 0.2 {
		t.Errorf("unexpected auth defaults: %+v", c.Auth)
	}
	if c.Password.MaxConcurrency < 1 || c.Password.Argon2MemoryKiB != 19456 || c.Password.MinLength != 8 {
		t.Errorf("unexpected password defaults: %+v", c.Password)
	}
	if c.Log.Format != "text" {
		t.Errorf("development logs %s, want text by default", c.Log.Format)
	}
	if c.Database.Engine() != "sqlite" || c.Database.SQLitePath() != "data/cleanslice.db" {
		t.Errorf("engine %q path %q", c.Database.Engine(), c.Database.SQLitePath())
	}
}

func TestEnvOverridesEveryKind(t *testing.T) {
	path := writeFile(t, "[http]\naddress = \":9000\"\n")
	c, err := Load(path, envOf(map[string]string{
		"CLEANSLICE_HTTP_ADDRESS":               ":7000",
		"CLEANSLICE_DATABASE_URL":               "postgres://u@localhost/db",
		"CLEANSLICE_DATABASE_MIGRATE_ON_START":  "false",
		"CLEANSLICE_AUTH_SESSION_TTL":           "30m",
		"CLEANSLICE_AUTH_SESSION_REFRESH_RATIO": "0.5",
		"CLEANSLICE_PASSWORD_MAX_CONCURRENCY":   "3",
		"CLEANSLICE_HTTP_TRUSTED_ORIGINS":       "https://a.example, https://b.example",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Address != ":7000" {
		t.Errorf("env did not win over the file: %q", c.HTTP.Address)
	}
	if c.Database.Engine() != "postgres" || c.Database.MigrateOnStart || c.Auth.SessionTTL != 30*time.Minute ||
		c.Auth.SessionRefreshRatio != 0.5 || c.Password.MaxConcurrency != 3 {
		t.Errorf("overrides not applied: %+v", c)
	}
	if got := strings.Join(c.HTTP.TrustedOrigins, "|"); got != "https://a.example|https://b.example" {
		t.Errorf("trusted origins = %q", got)
	}
}

func TestFileValues(t *testing.T) {
	c, err := Load(writeFile(t, "[http]\ntrusted_proxies = [\"10.0.0.0/8\"]\n[log]\nformat = \"json\"\n"), envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.HTTP.TrustedProxies) != 1 || c.Log.Format != "json" {
		t.Errorf("file values not applied: %+v", c)
	}
}

func TestEveryProblemReportedAtOnce(t *testing.T) {
	_, err := Load(writeFile(t, "[auth]\njwt_secret = \"short\"\n[database]\nurl = \"mysql://x\"\n"), envOf(map[string]string{
		"CLEANSLICE_AUTH_SESSION_TTL": "soon",
		"CLEANSLICE_LOG_LEVEL":        "loud",
	}))
	got := problems(t, err)
	want := []string{
		"CLEANSLICE_AUTH_SESSION_TTL: \"soon\" is not a duration",
		"auth.jwt_secret must be at least 32 bytes",
		"database.url: unsupported scheme \"mysql\"",
		"log.level must be debug, info, warn or error",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems %q, want %d", len(got), got, len(want))
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "config: 4 problems: ") {
		t.Errorf("message %q", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("message %q lacks %q", msg, w)
		}
	}
}

func TestProductionRefusesDevelopmentSettings(t *testing.T) {
	_, err := Load(writeFile(t, "env = \"production\"\n"), envOf(nil))
	got := strings.Join(problems(t, err), "\n")
	for _, w := range []string{"auth.jwt_secret: the development value", "password.pepper: the development value", "mfa.encryption_key: the development value", "cookie.secure must be true"} {
		if !strings.Contains(got, w) {
			t.Errorf("problems %q lack %q", got, w)
		}
	}

	_, err = Load(writeFile(t, "env = \"production\"\n"), production(map[string]string{
		"CLEANSLICE_AUTH_JWT_SECRET": "too-short",
		"CLEANSLICE_MAIL_SMTP_URL":   "smtp://mail.example.com",
	}))
	if got := problems(t, err); len(got) != 1 || !strings.Contains(got[0], "auth.jwt_secret must be at least 32 bytes") {
		t.Errorf("problems = %q", got)
	}

	c, err := Load(writeFile(t, "env = \"production\"\n"), production(nil))
	if err != nil || !c.Production() {
		t.Fatalf("valid production config refused: %v", err)
	}
	if c.Log.Format != "json" {
		t.Errorf("production logs %s, want json by default", c.Log.Format)
	}
}

// TestSettingsThatSwitchProtectionOff: a throttle window of 0 is refused
// everywhere; production refuses argon2id below OWASP's minimum and short
// passwords, and accepts OWASP's equivalents.
func TestSettingsThatSwitchProtectionOff(t *testing.T) {
	_, err := Load(writeFile(t, "[auth]\nfailure_window = \"0s\"\nsignup_window = \"0s\"\n"), envOf(nil))
	got := strings.Join(problems(t, err), "\n")
	for _, w := range []string{"auth.failure_window must be above 0", "auth.signup_window must be above 0"} {
		if !strings.Contains(got, w) {
			t.Errorf("problems %q lack %q", got, w)
		}
	}
	production := func(settings map[string]string) error {
		_, err := Load(writeFile(t, "env = \"production\"\n"), production(settings))
		return err
	}
	for _, weak := range []map[string]string{
		{"CLEANSLICE_PASSWORD_ARGON2_MEMORY_KIB": "8", "CLEANSLICE_PASSWORD_ARGON2_ITERATIONS": "1"},
		{"CLEANSLICE_PASSWORD_ARGON2_MEMORY_KIB": "19456", "CLEANSLICE_PASSWORD_ARGON2_ITERATIONS": "1"},
		{"CLEANSLICE_PASSWORD_ARGON2_MEMORY_KIB": "6144", "CLEANSLICE_PASSWORD_ARGON2_ITERATIONS": "10"},
	} {
		if got := problems(t, production(weak)); len(got) != 1 || !strings.Contains(got[0], "password.argon2_memory_kib x password.argon2_iterations must be at least 38912 KiB") {
			t.Errorf("%v: problems %q", weak, got)
		}
	}
	if got := problems(t, production(map[string]string{"CLEANSLICE_PASSWORD_MIN_LENGTH": "1"})); len(got) != 1 || !strings.Contains(got[0], "password.min_length must be at least 8 in production") {
		t.Errorf("min_length 1: problems %q", got)
	}
	for _, strong := range []map[string]string{
		{"CLEANSLICE_PASSWORD_ARGON2_MEMORY_KIB": "47104", "CLEANSLICE_PASSWORD_ARGON2_ITERATIONS": "1"},
		{"CLEANSLICE_PASSWORD_ARGON2_MEMORY_KIB": "9728", "CLEANSLICE_PASSWORD_ARGON2_ITERATIONS": "4"},
		{"CLEANSLICE_PASSWORD_ARGON2_MEMORY_KIB": "7168", "CLEANSLICE_PASSWORD_ARGON2_ITERATIONS": "6"},
	} {
		if err := production(strong); err != nil {
			t.Errorf("%v refused: %v", strong, err)
		}
	}
	if got := problems(t, production(map[string]string{"CLEANSLICE_MFA_PREVIOUS_ENCRYPTION_KEYS": "short"})); len(got) != 1 || !strings.Contains(got[0], "mfa.previous_encryption_keys[0] must be at least 32 bytes") {
		t.Errorf("short previous mfa key: problems %q", got)
	}
	if got := problems(t, production(map[string]string{"CLEANSLICE_AUTH_MFA_PENDING_TTL": "24h"})); len(got) != 1 || !strings.Contains(got[0], "auth.mfa_pending_ttl must be between 30s and 1h") {
		t.Errorf("a day-long pending login: problems %q", got)
	}
	for _, ttl := range []string{"0s", "59s", "-1h"} {
		if got := problems(t, production(map[string]string{"CLEANSLICE_API_KEYS_MAX_TTL": ttl})); len(got) != 1 || !strings.Contains(got[0], "api_keys.max_ttl must be at least 1m") {
			t.Errorf("api_keys.max_ttl %s: problems %q", ttl, got)
		}
	}
	if err := production(map[string]string{"CLEANSLICE_COOKIE_NAME": "__Host-access_token"}); err != nil {
		t.Errorf("__Host- cookie with cookie.secure: %v", err)
	}
	if _, err := Load(writeFile(t, "[cookie]\nname = \"__Host-access_token\"\n"), envOf(nil)); err == nil || !strings.Contains(err.Error(), "needs cookie.secure = true") {
		t.Errorf("__Host- cookie without cookie.secure: %v", err)
	}
	// Development keeps cheap hashing (tests and laptops).
	if _, err := Load(writeFile(t, "[password]\nargon2_memory_kib = 64\nargon2_iterations = 1\nmin_length = 1\n"), envOf(nil)); err != nil {
		t.Errorf("development refused cheap hashing: %v", err)
	}
}

// TestProductionRefusesDevelopmentHosts: production refuses /metrics on the
// public listener, http mail links and a relying party on localhost or
// http, every problem in one message; development accepts them all.
func TestProductionRefusesDevelopmentHosts(t *testing.T) {
	_, err := Load(writeFile(t, "env = \"production\"\n"), production(map[string]string{
		"CLEANSLICE_METRICS_ADDRESS":       "",
		"CLEANSLICE_MAIL_VERIFICATION_URL": "http://app.example.com/verify#token={token}",
		"CLEANSLICE_MAIL_RECOVERY_URL":     "HTTP://app.example.com/recover#token={token}",
		"CLEANSLICE_WEBAUTHN_RP_ID":        "localhost",
		"CLEANSLICE_WEBAUTHN_RP_ORIGINS":   "http://localhost:8000",
	}))
	want := []string{
		`mail.recovery_url must be an https:// link in production`,
		`mail.verification_url must be an https:// link in production`,
		`metrics.enabled needs its own metrics.address in production`,
		`webauthn.rp_id "localhost" is a development host`,
		`webauthn.rp_origins: "http://localhost:8000": production needs https origins`,
	}
	got := problems(t, err)
	if len(got) != len(want) || !strings.HasPrefix(err.Error(), "config: 5 problems: ") {
		t.Fatalf("problems %q, want %d", got, len(want))
	}
	for k, w := range want {
		if !strings.Contains(got[k], w) {
			t.Errorf("problem %d %q, want %q", k, got[k], w)
		}
	}
	for settings, want := range map[string]string{
		"CLEANSLICE_WEBAUTHN_RP_ID=dev.localhost CLEANSLICE_WEBAUTHN_RP_ORIGINS=https://dev.localhost": `webauthn.rp_id "dev.localhost" is a development host`,
		"CLEANSLICE_WEBAUTHN_RP_ORIGINS=https://example.com,http://app.example.com":                    `"http://app.example.com": production needs https origins`,
	} {
		env := map[string]string{}
		for _, kv := range strings.Fields(settings) {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		_, err := Load(writeFile(t, "env = \"production\"\n"), production(env))
		if got := problems(t, err); len(got) != 1 || !strings.Contains(got[0], want) {
			t.Errorf("%s: problems %q, want %q", settings, got, want)
		}
	}
	// Metrics on their own listener, or none.
	for _, settings := range []map[string]string{{"CLEANSLICE_METRICS_ADDRESS": "127.0.0.1:9090"}, {"CLEANSLICE_METRICS_ADDRESS": "", "CLEANSLICE_METRICS_ENABLED": "false"}} {
		if _, err := Load(writeFile(t, "env = \"production\"\n"), production(settings)); err != nil {
			t.Errorf("%v refused: %v", settings, err)
		}
	}
	// Development keeps go run . working.
	if _, err := Load(writeFile(t, ""), envOf(nil)); err != nil {
		t.Errorf("development refused its defaults: %v", err)
	}
}

// TestRequireSecondFactorFor: a list of roles, from the file or the
// environment; an unknown role is refused by name.
func TestRequireSecondFactorFor(t *testing.T) {
	c, err := Load(writeFile(t, ""), envOf(nil))
	if err != nil || len(c.Auth.RequireSecondFactorFor) != 0 {
		t.Fatalf("default %q, %v; want none", c.Auth.RequireSecondFactorFor, err)
	}
	c, err = Load(writeFile(t, "[auth]\nrequire_second_factor_for = [\"admin\", \"super_admin\"]\n"), envOf(nil))
	if err != nil || fmt.Sprint(c.Auth.RequireSecondFactorFor) != "[admin super_admin]" {
		t.Fatalf("from the file: %q, %v", c.Auth.RequireSecondFactorFor, err)
	}
	c, err = Load(writeFile(t, ""), envOf(map[string]string{"CLEANSLICE_AUTH_REQUIRE_SECOND_FACTOR_FOR": "super_admin user"}))
	if err != nil || fmt.Sprint(c.Auth.RequireSecondFactorFor) != "[super_admin user]" {
		t.Fatalf("from the environment: %q, %v", c.Auth.RequireSecondFactorFor, err)
	}
	_, err = Load(writeFile(t, "[auth]\nrequire_second_factor_for = [\"admin\", \"root\", \"Admin\"]\n"), envOf(nil))
	got := problems(t, err)
	if len(got) != 2 || !strings.Contains(got[0], `auth.require_second_factor_for: "Admin" is not a role`) || !strings.Contains(got[1], `"root" is not a role`) {
		t.Fatalf("unknown roles: %q", got)
	}
}

// TestMailSettings: the log transport is refused in production; smtp needs
// a well-formed URL, and plain text only to this host.
func TestMailSettings(t *testing.T) {
	_, err := Load(writeFile(t, "env = \"production\"\n"), envOf(nil))
	if !strings.Contains(fmt.Sprint(err), "mail.transport = log writes messages") {
		t.Errorf("production with the log transport: %v", err)
	}
	for settings, want := range map[string]string{
		"[mail]\ntransport = \"smtp\"\n":                                                              "mail.smtp_url is required",
		"[mail]\ntransport = \"smtp\"\nsmtp_url = \"mail.example.com\"\n":                             "mail.smtp_url must be smtp://",
		"[mail]\ntransport = \"smtp\"\nsmtp_url = \"smtp://mail.example.com\"\nsmtp_tls = \"none\"\n": "is for a mail server on this host only",
		"[mail]\ntransport = \"pigeon\"\n":                                                            "mail.transport must be log or smtp",
		"[mail]\nfrom = \"not an address\"\n":                                                         "mail.from must be an address",
	} {
		if _, err := Load(writeFile(t, settings), envOf(nil)); !strings.Contains(fmt.Sprint(err), want) {
			t.Errorf("%q: %v, want %q", settings, err, want)
		}
	}
	c, err := Load(writeFile(t, "[mail]\ntransport = \"smtp\"\nsmtp_url = \"smtp://127.0.0.1:2525\"\nsmtp_tls = \"none\"\n"), envOf(nil))
	if err != nil || c.Mail.SMTPURL != "smtp://127.0.0.1:2525" {
		t.Errorf("plain text to this host: %+v, %v", c.Mail, err)
	}
}

func TestUnknownKeyAndBadValues(t *testing.T) {
	_, err := Load(writeFile(t, "[http]\nadress = \":1\"\n"), envOf(map[string]string{ //nolint:misspell // the typo is the test
		"CLEANSLICE_DATABASE_MAX_OPEN_CONNS": "many",
		"CLEANSLICE_COOKIE_SECURE":           "maybe",
		"CLEANSLICE_COOKIE_SAME_SITE":        "sometimes",
		"CLEANSLICE_HTTP_TRUSTED_ORIGINS":    "https://ok.example,ftp://x,https://a.example/path http://localhost:5173 https://slash.example/ https://*.example.com *",
		"CLEANSLICE_HTTP_TRUSTED_PROXIES":    "10.0.0.0/8,192.168.1.1,proxy.local",
	}))
	got := strings.Join(problems(t, err), "\n")
	if strings.Contains(got, "ok.example") || strings.Contains(got, "localhost:5173") || strings.Contains(got, "10.0.0.0/8") || strings.Contains(got, "192.168.1.1") {
		t.Errorf("valid origins or proxies refused: %s", got)
	}
	for _, w := range []string{"http.adress: unknown key", "CLEANSLICE_DATABASE_MAX_OPEN_CONNS: \"many\" is not a whole number",
		"CLEANSLICE_COOKIE_SECURE: \"maybe\" is not true or false", "cookie.same_site must be lax, strict or none",
		`http.trusted_origins: "ftp://x"`, `http.trusted_origins: "https://a.example/path"`, `http.trusted_proxies: "proxy.local"`,
		`http.trusted_origins: "https://slash.example/"`, `http.trusted_origins: "https://*.example.com"`, `http.trusted_origins: "*"`} {
		if !strings.Contains(got, w) {
			t.Errorf("problems %q lack %q", got, w)
		}
	}
}

func TestMissingOrBrokenFile(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "nope.toml"), envOf(nil)); err == nil || !strings.Contains(err.Error(), "cannot read") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Load(writeFile(t, "[http\n"), envOf(nil)); err == nil || !strings.Contains(err.Error(), "cannot parse") {
		t.Errorf("broken file: %v", err)
	}
}

func TestSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	secret := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	jwtCur, jwtOld := strings.Repeat("j", 40), strings.Repeat("o", 40)
	c, err := Load(writeFile(t, ""), envOf(map[string]string{
		"CLEANSLICE_AUTH_JWT_SECRET_FILE":           secret("jwt", jwtCur+"\n"),
		"CLEANSLICE_AUTH_JWT_PREVIOUS_SECRETS_FILE": secret("jwt-old", jwtOld+"\n"+strings.Repeat("p", 33)+"\n"),
		"CLEANSLICE_PASSWORD_PEPPER_FILE":           secret("pepper", strings.Repeat("q", 32)+"\r\n"),
		"CLEANSLICE_DATABASE_URL_FILE":              secret("db", "sqlite:from-file.db\n"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Auth.JWTSecret != jwtCur || len(c.Auth.JWTPreviousSecrets) != 2 || c.Auth.JWTPreviousSecrets[0] != jwtOld ||
		c.Password.Pepper != strings.Repeat("q", 32) || c.Database.URL != "sqlite:from-file.db" {
		t.Fatalf("values from files: %+v %+v %+v", c.Auth, c.Password.Pepper, c.Database.URL)
	}

	missing := filepath.Join(dir, "nope")
	_, err = Load(writeFile(t, ""), envOf(map[string]string{
		"CLEANSLICE_AUTH_JWT_SECRET":      strings.Repeat("s", 32),
		"CLEANSLICE_AUTH_JWT_SECRET_FILE": secret("jwt2", "content-never-shown-0123456789abcdef"),
		"CLEANSLICE_PASSWORD_PEPPER_FILE": missing,
	}))
	got := strings.Join(problems(t, err), "\n")
	for _, want := range []string{
		"auth.jwt_secret: both CLEANSLICE_AUTH_JWT_SECRET and CLEANSLICE_AUTH_JWT_SECRET_FILE are set",
		"password.pepper: cannot read CLEANSLICE_PASSWORD_PEPPER_FILE=" + missing,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems %q lack %q", got, want)
		}
	}
	if strings.Contains(got, "content-never-shown") {
		t.Errorf("a problem shows a secret: %s", got)
	}

	// Every generation meets the rules, from any source.
	_, err = Load(writeFile(t, "env = \"production\"\n[cookie]\nsecure = true\n"), envOf(map[string]string{
		"CLEANSLICE_AUTH_JWT_SECRET":                strings.Repeat("s", 32),
		"CLEANSLICE_PASSWORD_PEPPER":                strings.Repeat("p", 32),
		"CLEANSLICE_AUTH_JWT_PREVIOUS_SECRETS_FILE": secret("short", "short\n"),
		"CLEANSLICE_PASSWORD_PREVIOUS_PEPPERS":      DevPepper,
	}))
	got = strings.Join(problems(t, err), "\n")
	for _, want := range []string{"auth.jwt_previous_secrets[0] must be at least 32 bytes", "password.previous_peppers[0]: the development value is refused in production"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems %q lack %q", got, want)
		}
	}
}

// TestRelyingParty: passkeys need an RP id that is a domain, and origins
// on it (or below it) that browsers run ceremonies on.
func TestRelyingParty(t *testing.T) {
	for _, c := range []struct {
		id, origins, want string
	}{
		{"localhost", "http://localhost:8000", ""},
		{"example.com", "https://example.com https://app.example.com:8443", ""},
		{"example.com", "https://evil-example.com", "must be https://evil-example.com's host or a parent domain"},
		{"app.example.com", "https://example.com", "must be https://example.com's host or a parent domain"},
		{"127.0.0.1", "http://127.0.0.1:8000", "is an IP address"},
		{"https://example.com", "https://example.com", "is not a domain"},
		{"example.com", "https://example.com/login", "is not an origin"},
		{"example.com", "http://example.com", "only on https pages"},
	} {
		_, err := Load(writeFile(t, ""), envOf(map[string]string{"CLEANSLICE_WEBAUTHN_RP_ID": c.id, "CLEANSLICE_WEBAUTHN_RP_ORIGINS": c.origins}))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s %s refused: %v", c.id, c.origins, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s %s: %v, want %q", c.id, c.origins, err, c.want)
		}
	}
}

// TestMailLinksStartWithThePublicURL: unless set, the mail links open the
// pages this service serves at http.public_url (SPEC 4d: the service's own
// links start with it); a link set explicitly (a front-end's page) stays.
func TestMailLinksStartWithThePublicURL(t *testing.T) {
	c, err := Load(writeFile(t, ""), envOf(map[string]string{"CLEANSLICE_HTTP_PUBLIC_URL": "https://auth.example.com/"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Mail.VerificationURL != "https://auth.example.com/account/verify#token={token}" || c.Mail.RecoveryURL != "https://auth.example.com/account/recover#token={token}" {
		t.Fatalf("derived links %q, %q", c.Mail.VerificationURL, c.Mail.RecoveryURL)
	}
	c, err = Load(writeFile(t, ""), envOf(map[string]string{"CLEANSLICE_HTTP_PUBLIC_URL": "https://auth.example.com",
		"CLEANSLICE_MAIL_VERIFICATION_URL": "https://app.example.com/verify#t={token}"}))
	if err != nil || c.Mail.VerificationURL != "https://app.example.com/verify#t={token}" {
		t.Fatalf("an explicit link: %q, %v", c.Mail.VerificationURL, err)
	}
}

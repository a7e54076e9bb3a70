package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestComposeFile checks compose.yaml without a Docker engine: the services,
// their ports, health checks and start order, and that every secret the app
// needs is listed in .env.example.
func TestComposeFile(t *testing.T) {
	var c struct {
		Services map[string]struct {
			Image       string
			Build       any
			Ports       []string
			Environment map[string]string
			DependsOn   map[string]struct{ Condition string } `yaml:"depends_on"`
			Healthcheck struct{ Test []string }
			Volumes     []string
			Secrets     []string
		}
		Volumes map[string]any
		Secrets map[string]struct{ Environment, File string }
	}
	b, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	db, app := c.Services["db"], c.Services["app"]
	if db.Image != "postgres:17" || !strings.Contains(strings.Join(db.Healthcheck.Test, " "), "pg_isready") || len(db.Ports) != 1 || db.Ports[0] != "5432:5432" {
		t.Errorf("db service: %+v", db)
	}
	if _, ok := c.Volumes["pgdata"]; !ok || len(db.Volumes) != 1 || !strings.HasPrefix(db.Volumes[0], "pgdata:") {
		t.Errorf("db data is not on the named volume: %v %v", c.Volumes, db.Volumes)
	}
	if app.Build == nil || app.DependsOn["db"].Condition != "service_healthy" || len(app.Ports) != 1 || app.Ports[0] != "8000:8000" {
		t.Errorf("app service: %+v", app)
	}
	if strings.Join(app.Healthcheck.Test, " ") != "CMD /cleanslice healthcheck" {
		t.Errorf("app health check: %v", app.Healthcheck.Test)
	}
	if app.Environment["CLEANSLICE_DATABASE_MIGRATE_ON_START"] != "true" || !strings.Contains(app.Environment["CLEANSLICE_DATABASE_URL"], "@db:5432/") {
		t.Errorf("app environment: %v", app.Environment)
	}
	// The secrets come as files, from compose secrets the app is given.
	for env, name := range map[string]string{"CLEANSLICE_AUTH_JWT_SECRET_FILE": "jwt_secret", "CLEANSLICE_PASSWORD_PEPPER_FILE": "pepper"} {
		src, ok := c.Secrets[name]
		if app.Environment[env] != "/run/secrets/"+name || !slices.Contains(app.Secrets, name) || !ok || src.Environment == "" {
			t.Errorf("secret %s: %s=%q, app secrets %v, source %+v", name, env, app.Environment[env], app.Secrets, src)
		}
		if !bytes.Contains(mustRead(t, ".env.example"), []byte(src.Environment+"=")) {
			t.Errorf(".env.example lacks %s, the source of secret %s", src.Environment, name)
		}
	}
	example, err := os.ReadFile(".env.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range regexp.MustCompile(`\$\{([A-Z_]+)`).FindAllStringSubmatch(string(b), -1) {
		if !bytes.Contains(example, []byte(v[1]+"=")) {
			t.Errorf(".env.example lacks %s, which compose.yaml uses", v[1])
		}
	}
}

// TestDockerfile checks the image: static build, non-root distroless base,
// and that .ci/run runs the Dockerfile's own build line.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	d := string(b)
	build := regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=0 go build .*)$`).FindStringSubmatch(d)
	if build == nil {
		t.Fatal("no static go build line in the Dockerfile")
	}
	for _, want := range []string{"FROM golang:1.26 AS build", "FROM gcr.io/distroless/static-debian12:nonroot", "USER nonroot:nonroot", `ENTRYPOINT ["/cleanslice"]`} {
		if !strings.Contains(d, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	ci, err := os.ReadFile(filepath.Join(".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ci), "Dockerfile") {
		t.Error(".ci/run does not build with the Dockerfile's command")
	}
}

func TestHealthcheckCommand(t *testing.T) {
	s := startService(t, map[string]string{"database.url": "sqlite:" + filepath.Join(t.TempDir(), "h.db")})
	addr := strings.TrimPrefix(s.base, "http://")
	if err := healthcheck(context.Background(), addr, &bytes.Buffer{}); err != nil {
		t.Fatalf("healthcheck of a ready service: %v", err)
	}
	if err := healthcheck(context.Background(), freeAddr(t), &bytes.Buffer{}); err == nil {
		t.Fatal("healthcheck of nothing succeeded")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

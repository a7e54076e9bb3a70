package main

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/platform/dbtest"
)

// tcpProxy forwards a local port to the database, and can cut it off and
// bring it back on the same port: a database outage without touching the
// shared PostgreSQL server.
type tcpProxy struct {
	t      *testing.T
	addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	p := &tcpProxy{t: t, addr: freeAddr(t), target: target}
	p.start()
	t.Cleanup(p.stop)
	return p
}

func (p *tcpProxy) start() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

// stop refuses new connections and drops the open ones.
func (p *tcpProxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestDatabaseOutage cuts the service off from PostgreSQL while it runs:
// /readyz must answer 503 quickly, the process must stay up, and once the
// database is back everything must answer 200 without a restart.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	dbURL, err := url.Parse(dbtest.URL(t, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, dbURL.Host)
	dbURL.Host = proxy.addr
	s := startService(t, map[string]string{"database.url": dbURL.String(), "database.migrate_on_start": "false"})
	s.client.Timeout = 2 * time.Second // the readiness answer must come within 2 s

	if r := s.do(t, "GET", "/readyz", ""); r.status != 200 {
		t.Fatalf("readyz before the outage = %d %s", r.status, r.body)
	}
	creds := `{"username":"alice","password":"password1"}`
	if r := s.do(t, "POST", "/api/v1/auth/signup", creds); r.status != 201 {
		t.Fatalf("signup = %d %s", r.status, r.body)
	}
	if r := s.do(t, "POST", "/api/v1/auth/login", creds); r.status != 200 {
		t.Fatalf("login = %d %s", r.status, r.body)
	}
	proxy.stop()
	for range 3 {
		r := s.do(t, "GET", "/readyz", "")
		if r.status != 503 || r.header.Get("Content-Type") != "application/problem+json" || r.json(t)["code"] != "service_unavailable" || r.header.Get("Retry-After") == "" {
			t.Fatalf("readyz during the outage = %d %v %s", r.status, r.header, r.body)
		}
	}
	for _, path := range []string{"/api/v1/auth/me", "/api/v1/auth/signup", "/api/v1/auth/login"} {
		method, body := "POST", `{"username":"bobby","password":"password1"}`
		if path == "/api/v1/auth/me" {
			method, body = "GET", ""
		}
		r := s.do(t, method, path, body)
		if r.status != 503 || r.json(t)["code"] != "service_unavailable" || r.header.Get("Retry-After") == "" {
			t.Fatalf("%s during the outage = %d %s", path, r.status, r.body)
		}
	}
	if r := s.do(t, "GET", "/livez", ""); r.status != 200 {
		t.Fatalf("livez during the outage = %d: the process must stay alive", r.status)
	}
	proxy.start()
	if r := s.do(t, "GET", "/readyz", ""); r.status != 200 {
		t.Fatalf("readyz after the outage = %d %s", r.status, r.body)
	}
	if r := s.do(t, "GET", "/api/v1/auth/me", ""); r.status != 200 {
		t.Fatalf("me after the outage = %d %s: the session must survive", r.status, r.body)
	}
}

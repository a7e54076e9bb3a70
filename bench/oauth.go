package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/oauth2-proxy/mockoidc"
)

// oauthSubjects is how many provider accounts (o) signs in, in turn: each
// is made an account at its first sign-in, in the warm-up, and then only
// signed in again.
const oauthSubjects = 256

// startOAuthProvider runs (o)'s OpenID provider in the bench's process
// (mockoidc; its handlers are not safe for concurrent use, so they run one
// at a time: its CPU is the bench's, not the service's) and returns the
// service's setting of it.
func startOAuthProvider() (*mockoidc.MockOIDC, string, error) {
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		return nil, "", err
	}
	var mu sync.Mutex
	err = m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			next.ServeHTTP(w, r)
		})
	})
	if err != nil {
		return nil, "", err
	}
	ln, err := listenLoopback()
	if err != nil {
		return nil, "", err
	}
	if err := m.Start(ln, nil); err != nil {
		return nil, "", err
	}
	b, _ := json.Marshal([]map[string]any{{"id": "bench", "name": "Bench", "kind": "oidc", "issuer": m.Issuer(),
		"client_id": m.ClientID, "client_secret": m.ClientSecret, "trust_email": true}})
	return m, "CLEANSLICE_OAUTH_PROVIDERS=" + string(b), nil
}

// oauthWorkloads is (o), on request (-only o): a sign-in with an identity
// provider (the start at the service, the provider's authorization in the
// bench, the callback at the service: a returning identity, session
// cookie set) against a password login (d's), in alternating slices.
// Target: the service's CPU per sign-in at most a tenth of a login's (it
// verifies no password: an ID token's signature and a few queries).
func oauthWorkloads(ctx context.Context, svc *service, m *mockoidc.MockOIDC, rounds int, login op, pair func(ref, w workload, rounds int) (result, result)) ([]result, error) {
	conc := 4 * runtime.NumCPU()
	cl := newClient(conc)
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var n atomic.Int64
	signIn := func(ctx context.Context) (int, error) {
		k := n.Add(1)
		get := func(url string, binding *http.Cookie) (answer, error) {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			req.Header.Set("X-Forwarded-For", clientAddr(k))
			if binding != nil {
				req.AddCookie(binding)
			}
			resp, err := cl.Do(req)
			if err != nil {
				return answer{}, err
			}
			defer resp.Body.Close()
			_, _ = io.Copy(io.Discard, resp.Body)
			return answer{status: resp.StatusCode, location: resp.Header.Get("Location"), cookies: resp.Cookies()}, nil
		}
		start, err := get(svc.base+"/api/v1/auth/oauth/bench/start", nil)
		if err != nil || start.status != http.StatusFound {
			return start.status, err
		}
		binding := start.cookie("oauth_binding")
		subject := fmt.Sprintf("bench-%d", k%oauthSubjects)
		m.QueueUser(&mockoidc.MockUser{Subject: subject, Email: subject + "@example.com", EmailVerified: true, PreferredUsername: subject})
		back, err := get(start.location, nil)
		if err != nil || back.status != http.StatusFound {
			return back.status, err
		}
		done, err := get(back.location, binding)
		if err != nil {
			return 0, err
		}
		if done.status == http.StatusSeeOther && done.cookie("access_token") != nil {
			return http.StatusOK, nil // signed in
		}
		return done.status, nil // refused
	}
	// Every subject signs up once, before the measure: (o) is returning
	// sign-ins.
	for range oauthSubjects {
		status, err := signIn(ctx)
		if err != nil {
			return nil, fmt.Errorf("o: a first sign-in: %w", err)
		}
		if status != http.StatusOK {
			return nil, fmt.Errorf("o: a first sign-in answered %d", status)
		}
	}
	ref, res := pair(workload{"o POST /auth/login (password)", conc, login, svc}, workload{"o provider sign-in (start + callback)", conc, signIn, svc}, rounds)
	res.Reference, res.Ratio = ref.Name, res.PerSecond/ref.PerSecond
	cpu := float64(res.CPUPerRequest) / float64(ref.CPUPerRequest)
	met := ref.CPUPerRequest > 0 && cpu <= 0.1
	res.Target, res.Met = "CPU/sign-in <= 0.1 x a login's", &met
	res.Extra = map[string]any{"cpu_ratio": cpu}
	return []result{ref, res}, nil
}

func listenLoopback() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// answer is what (o) reads of a response: its status, where it leads and
// its cookies.
type answer struct {
	status   int
	location string
	cookies  []*http.Cookie
}

func (a answer) cookie(name string) *http.Cookie {
	for _, c := range a.cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

package webhooks

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/webhook"
)

// receiver is a loopback HTTP server that counts the requests it gets.
func receiver(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func post(c *http.Client, url string) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader("{}"))
	resp, err := c.Do(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

// TestTargetsAreGuarded: the URLs and addresses of an attacker's choice
// are refused: by the URL check where the URL says enough, and at the
// moment of connecting in every case the URL check lets through (or is
// bypassed): a loopback receiver listening on the port gets nothing.
// With webhooks.allow_private_targets the same receiver is reached;
// link-local addresses stay refused.
func TestTargetsAreGuarded(t *testing.T) {
	srv, hits := receiver(t, nil)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	production := webhook.Targets{HTTPSOnly: true}
	guarded := NewClient(webhook.Targets{})
	for _, c := range []struct {
		name    string
		url     string
		urlOK   bool // the URL check (outside production) lets it through
		dialled bool // the dialer gets to see an address
	}{
		{"http:// in production", "http://hooks.example.com/", true, false},
		{"user info", "https://user:pass@hooks.example.com/", false, false},
		{"user name alone", "https://user@hooks.example.com/", false, false},
		{"cloud metadata", "http://169.254.169.254:" + port + "/latest/meta-data/", false, true},
		{"IPv4-mapped loopback", "http://[::ffff:127.0.0.1]:" + port + "/", false, true},
		{"unique local IPv6", "http://[fd00::1]:" + port + "/", false, true},
		{"unspecified", "http://0.0.0.0:" + port + "/", false, true},
		{"loopback", "http://127.0.0.1:" + port + "/", false, true},
		{"IPv6 loopback", "http://[::1]:" + port + "/", false, true},
		{"private", "http://10.0.0.7:" + port + "/", false, true},
		{"decimal loopback", "http://2130706433:" + port + "/", false, false},
		{"hex loopback", "http://0x7f000001:" + port + "/", false, false},
		{"short loopback", "http://127.1:" + port + "/", false, false},
		{"a name that resolves to loopback", "http://localhost:" + port + "/", false, true},
		{"NAT64 of loopback", "http://[64:ff9b::7f00:1]:" + port + "/", false, true},
		{"6to4 of a private address", "http://[2002:a00:1::1]:" + port + "/", false, true},
		{"link-local IPv6", "http://[fe80::1]:" + port + "/", false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := webhook.Targets{}.CheckURL(c.url)
			if (err == nil) != c.urlOK {
				t.Errorf("CheckURL(%s) = %v", c.url, err)
			}
			if c.name == "http:// in production" {
				if e, ok := apperr.As(production.CheckURL(c.url)); !ok || len(e.Fields) != 1 || e.Fields[0].Message != "url must use https" {
					t.Errorf("in production: %+v", e)
				}
				if err := production.CheckURL(strings.Replace(c.url, "http:", "https:", 1)); err != nil {
					t.Errorf("https in production: %v", err)
				}
				return
			}
			// The dialer, with the URL check bypassed.
			before := hits.Load()
			_, err = post(guarded, c.url)
			if err == nil || hits.Load() != before {
				t.Fatalf("POST %s reached the receiver: %v", c.url, err)
			}
			if c.dialled && !errors.Is(err, ErrAddressRefused) {
				t.Fatalf("POST %s: %v, want the dialer's refusal", c.url, err)
			}
		})
	}
	if hits.Load() != 0 {
		t.Fatalf("the receiver got %d requests", hits.Load())
	}

	open := NewClient(webhook.Targets{AllowPrivate: true})
	for _, url := range []string{srv.URL, "http://localhost:" + port, "http://[::ffff:127.0.0.1]:" + port} {
		if resp, err := post(open, url); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("allow_private_targets: POST %s: %v", url, err)
		}
		if err := (webhook.Targets{AllowPrivate: true}).CheckURL(url); err != nil {
			t.Fatalf("allow_private_targets: CheckURL(%s) = %v", url, err)
		}
	}
	for _, url := range []string{"http://169.254.169.254:" + port, "http://[fe80::1]:" + port} {
		if _, err := post(open, url); !errors.Is(err, ErrAddressRefused) {
			t.Fatalf("allow_private_targets: POST %s: %v, want refused", url, err)
		}
	}
}

// TestRedirectsAreNotFollowed: a receiver answering with a redirect (to
// an internal address, say) gets its 3xx taken as the answer; the
// address redirected to gets nothing.
func TestRedirectsAreNotFollowed(t *testing.T) {
	inside, hits := receiver(t, nil)
	outside, _ := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, inside.URL+"/admin", http.StatusTemporaryRedirect)
	})
	resp, err := post(NewClient(webhook.Targets{AllowPrivate: true}), outside.URL)
	if err != nil || resp.StatusCode != http.StatusTemporaryRedirect || hits.Load() != 0 {
		t.Fatalf("redirect: %v, %v; %d requests to the target", resp, err, hits.Load())
	}
}

// TestURLRules: what an endpoint's URL may be, outside production.
func TestURLRules(t *testing.T) {
	for url, ok := range map[string]bool{
		"https://hooks.example.com/cleanslice?token=abc":   true,
		"http://hooks.example.com:8080/x":                  true,
		"https://93.184.216.34/":                           true,
		"https://[2606:2800:220:1:248:1893:25c8:1946]/":    true,
		"ftp://hooks.example.com/":                         false,
		"hooks.example.com/x":                              false,
		"https:///x":                                       false,
		"https://hooks.example.com/#frag":                  false,
		"https://hooks.example.com:0/":                     false,
		"https://hooks.example.com:99999/":                 false,
		"https://-bad-.example.com/":                       false,
		"https://hooks.localhost/":                         false,
		"https://192.168.1.1/":                             false,
		"https://100.64.0.1/":                              false,
		"https://224.0.0.1/":                               false,
		"https://255.255.255.255/":                         false,
		"https://[fe80::1%25eth0]/":                        false,
		"https://example.com/" + strings.Repeat("a", 2048): false,
	} {
		if err := (webhook.Targets{}).CheckURL(url); (err == nil) != ok {
			t.Errorf("CheckURL(%s) = %v, want ok %v", url, err, ok)
		}
	}
}

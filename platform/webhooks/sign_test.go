package webhooks

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/cleanslice/cleanslice/shared/webhook"
)

// headers are the Standard Webhooks headers of a message.
func headers(id string, at time.Time, sig string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
	h.Set("webhook-signature", sig)
	return h
}

// TestSignVerifiesWithTheLibrary: a signature made with the old and the
// new secret during a rotation's overlap verifies, with the Standard
// Webhooks library's own verifier, for a receiver that holds only the old
// secret and for one that holds only the new; a receiver with another
// secret, an altered body, id or timestamp fails. Joined the way Supabase
// Auth's code joins them (", "), the receiver of the first secret would
// fail (its signature would end in a comma).
func TestSignVerifiesWithTheLibrary(t *testing.T) {
	oldSecret, newSecret, other := string(webhook.NewSecret()), string(webhook.NewSecret()), string(webhook.NewSecret())
	id, at, body := "01a24932-8073-77e5-89cd-9af0403577ef", time.Now(), []byte(`{"type":"login.succeeded"}`)
	sig, err := Sign(id, at, body, newSecret, oldSecret)
	if err != nil {
		t.Fatal(err)
	}
	if parts := strings.Split(sig, " "); len(parts) != 2 || !strings.HasPrefix(parts[0], "v1,") || !strings.HasPrefix(parts[1], "v1,") {
		t.Fatalf("signature %q: want two v1 signatures, space-separated", sig)
	}
	receiver := func(secret string) *standardwebhooks.Webhook {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		return wh
	}
	for name, secret := range map[string]string{"old only": oldSecret, "new only": newSecret} {
		if err := receiver(secret).Verify(body, headers(id, at, sig)); err != nil {
			t.Errorf("a receiver with the %s secret: %v", name, err)
		}
	}
	for name, c := range map[string]struct {
		secret string
		body   []byte
		id     string
		at     time.Time
	}{
		"another secret":     {other, body, id, at},
		"an altered body":    {oldSecret, []byte(`{"type":"login.failed"}`), id, at},
		"another id":         {newSecret, body, "01a24932-8073-77e5-89cd-9af0403577f0", at},
		"another time stamp": {newSecret, body, id, at.Add(time.Second)},
	} {
		if err := receiver(c.secret).Verify(c.body, headers(c.id, c.at, sig)); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
			t.Errorf("%s: %v, want no matching signature", name, err)
		}
	}
	supabase := strings.ReplaceAll(sig, " ", ", ")
	if err := receiver(newSecret).Verify(body, headers(id, at, supabase)); err == nil {
		t.Error("the comma-joined header verified for the first secret: the test cannot tell the two joins apart")
	}
	// One secret: exactly the library's signature.
	one, err := Sign(id, at, body, newSecret)
	want, _ := receiver(newSecret).Sign(id, at, body)
	if err != nil || one != want {
		t.Fatalf("Sign with one secret = %q, %v; want %q", one, err, want)
	}
	if _, err := Sign(id, at, body); err == nil {
		t.Fatal("signed with no secret")
	}
}

package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Purpose is what a flow is for.
type Purpose string

// The purposes of flows.
const (
	PurposeSignIn Purpose = "sign_in" // sign in, or sign up, with the provider
	PurposeLink   Purpose = "link"    // link an identity to the signed-in user who began it
)

// FlowTTL is how long a flow may take from its start to its callback.
const FlowTTL = 10 * time.Minute

// Flow is a sign-in with a provider between its start and its callback,
// stored so that any replica can finish it, once. Of what leaves the
// service only digests are kept (the state's, the binding cookie's), and
// the PKCE verifier is sealed (for the flow's ID).
type Flow struct {
	ID        uuid.UUID // the sealed verifier's associated data
	StateHash []byte    // SHA-256 of the state: how the callback finds the flow
	Provider  string
	Purpose   Purpose
	UserID    uuid.UUID // PurposeLink: whose account the identity joins
	SessionID []byte    // PurposeLink: the session that began it, which must still exist at its end
	Nonce     string    // the ID token must carry it
	Verifier  []byte    // the PKCE verifier, sealed
	Binding   []byte    // SHA-256 of the binding cookie's secret
	ReturnTo  string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Secrets are a flow's values in the clear, which only the flow's start
// sees: State and Nonce travel in the authorization URL (and come back in
// the callback and the ID token), Verifier goes to the token endpoint
// only (its S256 challenge in the URL), Binding is the browser's cookie.
type Secrets struct {
	State    string
	Nonce    string
	Verifier string
	Binding  string
}

// Digest is the SHA-256 of a flow's secret, as stored.
func Digest(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// Binds reports whether binding (the cookie the callback came with) is
// the one given to the browser that began f.
func (f Flow) Binds(binding string) bool {
	return binding != "" && subtle.ConstantTimeCompare(Digest(binding), f.Binding) == 1
}

// Sealer keeps a flow's PKCE verifier unreadable in the database, sealed
// for the flow's id (platform/mfakeys).
type Sealer interface {
	Seal(id uuid.UUID, secret string) []byte
	Open(id uuid.UUID, sealed []byte) (secret string, stale bool, err error)
}

// Authorizer builds a provider's authorization URL for a flow's secrets;
// it may fetch the provider's discovery document first (a network call:
// never inside a transaction).
type Authorizer interface {
	AuthURL(ctx context.Context, provider string, s Secrets) (string, error)
}

// Flows are the rules of a flow's start: where it may send the browser
// back to, and how its verifier is sealed.
type Flows struct {
	TrustedOrigins []string // http.trusted_origins: return_to may be a URL on them
	Sealer         Sealer
}

// Started is a flow ready to store, the URL to send the browser to and
// the binding cookie's secret for that browser.
type Started struct {
	Flow    Flow
	URL     string
	Binding string
}

// Begin prepares a flow for provider: it checks returnTo (see
// CheckReturnTo), makes the state, the nonce, the PKCE verifier and the
// binding secret (260 random bits each, 52 characters: PKCE wants at
// least 43) and asks the provider for its
// authorization URL. Storing the flow is the caller's (in its
// transaction, after Begin: the URL may need the network).
func (fl Flows) Begin(ctx context.Context, a Authorizer, provider string, purpose Purpose, userID uuid.UUID, returnTo string, now time.Time) (Started, error) {
	to, err := CheckReturnTo(returnTo, fl.TrustedOrigins)
	if err != nil {
		return Started{}, err
	}
	s := Secrets{State: rand.Text() + rand.Text(), Nonce: rand.Text() + rand.Text(), Verifier: rand.Text() + rand.Text(), Binding: rand.Text() + rand.Text()}
	id := uuid.Must(uuid.NewV4())
	f := Flow{
		ID: id, StateHash: Digest(s.State), Provider: provider, Purpose: purpose, UserID: userID,
		Nonce: s.Nonce, Verifier: fl.Sealer.Seal(id, s.Verifier), Binding: Digest(s.Binding), ReturnTo: to,
		CreatedAt: user.Timestamp(now), ExpiresAt: user.Timestamp(now.Add(FlowTTL)),
	}
	u, err := a.AuthURL(ctx, provider, s)
	if err != nil {
		return Started{}, err
	}
	return Started{Flow: f, URL: u, Binding: s.Binding}, nil
}

// Verifier opens the flow's PKCE verifier.
func (fl Flows) Verifier(f Flow) (string, error) {
	v, _, err := fl.Sealer.Open(f.ID, f.Verifier)
	return v, err
}

// Refused is where a flow that ended in the refusal err sends the browser:
// returnTo with the fragment #error=<err's code> (provider_error for an
// error without one). A fragment reaches no server log or Referer.
func Refused(returnTo string, err error) string {
	code := ErrProvider.Code
	if e, ok := apperr.As(err); ok {
		code = e.Code
	}
	return returnTo + "#error=" + code
}

// MFARequired is where a sign-in whose user has a second factor sends the
// browser: returnTo with #mfa_required; its pending login's cookie is set,
// and the front-end finishes it as after a password (POST
// /api/v1/auth/login/mfa).
func MFARequired(returnTo string) string { return returnTo + "#mfa_required" }

// maxReturnTo bounds a return_to, in bytes.
const maxReturnTo = 2048

// CheckReturnTo returns where a flow sends the browser back to: "/" for
// an empty raw, else raw when it is a path of this service ("/..." but
// not "//..." or "/\...", which browsers read as another host) or an
// absolute URL on one of trusted (its scheme://host exactly), without a
// fragment (the callback writes its own) or user info; anything else is
// ErrReturnToForbidden: no open redirect.
func CheckReturnTo(raw string, trusted []string) (string, error) {
	if raw == "" {
		return "/", nil
	}
	if len(raw) > maxReturnTo || strings.ContainsAny(raw, "\\#") || strings.IndexFunc(raw, func(r rune) bool { return r < 0x21 || r == 0x7f }) >= 0 {
		return "", ErrReturnToForbidden
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Opaque != "" {
		return "", ErrReturnToForbidden
	}
	switch {
	case u.Scheme == "" && u.Host == "":
		if !strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, "//") {
			return "", ErrReturnToForbidden
		}
	case slices.Contains(trusted, u.Scheme+"://"+u.Host) && (u.Path == "" || strings.HasPrefix(u.Path, "/")):
	default:
		return "", ErrReturnToForbidden
	}
	return raw, nil
}

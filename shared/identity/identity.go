// Package identity holds sign-in with identity providers (OpenID Connect,
// GitHub, Apple): the identities linked to accounts (an issuer and a
// subject, never an address), what a provider says about who signed in
// (Claims), the flows that carry a sign-in from its start to its callback
// (state, nonce, PKCE, the binding cookie), where a flow may send the
// browser back to, and the one table of rules that decides what a new
// identity does: sign in, create an account, link, or be refused
// (Decide). The protocol itself (discovery, token exchange, ID token
// verification) is platform/oidc's.
package identity

import (
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
)

// Identity is an account at a provider linked to a user here. It is
// (Issuer, Subject): the provider's own id of the account (GitHub: the
// numeric user id), which never changes, never the address, which does.
// ID is its public id (what the API shows and takes); Email is the address
// the provider gave at the last sign-in, shown to the user, never matched.
type Identity struct {
	ID         uuid.UUID
	UserID     uuid.UUID
	Provider   string // the configured provider's id
	Issuer     string
	Subject    string
	Email      string
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// Claims is what a provider said, verified, about who signed in: its
// issuer and subject, the address it gives (empty: none) and whether it
// says that address is verified, and a name to derive a username from.
type Claims struct {
	Issuer        string
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
}

// Claim is what a provider's claim says of an address.
type Claim int

// The claims of an address.
const (
	ClaimAbsent     Claim = iota // no address given
	ClaimUnverified              // an address the provider does not vouch for
	ClaimVerified                // an address the provider says it verified
)

func (c Claim) String() string {
	return [...]string{"absent", "unverified", "verified"}[c]
}

// EmailClaim is what c says of its address.
func (c Claims) EmailClaim() Claim {
	switch {
	case c.Email == "":
		return ClaimAbsent
	case c.EmailVerified:
		return ClaimVerified
	}
	return ClaimUnverified
}

// LinkByEmail is when a new identity may be linked into the account that
// has its address (verified) here.
type LinkByEmail string

// The link_by_email settings.
const (
	LinkNever    LinkByEmail = "never"    // never: sign in, then link
	LinkVerified LinkByEmail = "verified" // when a trusted provider's claim says verified
)

// Provider is a configured provider as the rules see it: its id and the
// name shown, and its policy.
type Provider struct {
	ID   string
	Name string
	// ResponseMode is how the provider comes back: "query" (a GET) or
	// "form_post" (a cross-site POST, Apple's).
	ResponseMode string
	AllowSignup  bool // may a new identity create an account
	TrustEmail   bool // may its verified-address claim verify an address here
	LinkByEmail  LinkByEmail
}

// Errors of the identity routes. The callback's refusals travel to the
// browser as the fragment #error=<code> of its return_to.
var (
	ErrProviderNotFound  = &apperr.Error{Kind: apperr.KindNotFound, Code: "provider_not_found", Message: "no such identity provider"}
	ErrIdentityNotFound  = &apperr.Error{Kind: apperr.KindNotFound, Code: "identity_not_found", Message: "no such linked identity"}
	ErrLastSignInMethod  = &apperr.Error{Kind: apperr.KindConflict, Code: "last_sign_in_method", Message: "this is the account's last way to sign in: set a password, add a passkey or link another identity first"}
	ErrStateInvalid      = &apperr.Error{Kind: apperr.KindInvalid, Code: "oauth_state_invalid", Message: "the sign-in is unknown, expired, already used or from another browser; start again"}
	ErrIDTokenInvalid    = &apperr.Error{Kind: apperr.KindInvalid, Code: "id_token_invalid", Message: "the provider's answer did not verify"}
	ErrProvider          = &apperr.Error{Kind: apperr.KindUnavailable, Code: "provider_error", Message: "the identity provider could not be reached or refused the sign-in"}
	ErrAccountExists     = &apperr.Error{Kind: apperr.KindConflict, Code: "identity_account_exists", Message: "an account has this address: sign in to it, then link this identity"}
	ErrIdentityInUse     = &apperr.Error{Kind: apperr.KindConflict, Code: "identity_in_use", Message: "this identity is linked to another account"}
	ErrSignupDisabled    = &apperr.Error{Kind: apperr.KindForbidden, Code: "signup_disabled", Message: "this provider does not create accounts: sign up first, then link it"}
	ErrEmailRequired     = &apperr.Error{Kind: apperr.KindInvalid, Code: "email_required", Message: "an account needs an email address and the provider gave none"}
	ErrReturnToForbidden = apperr.Invalid(apperr.FieldError{Field: "return_to", Message: "return_to must be a path of this service or a URL on a trusted origin, without a fragment"})
)

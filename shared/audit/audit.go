// Package audit defines the security events the service records: who did
// what to which account, from where. An event is written in the same
// transaction as the change it describes, so the trail holds exactly the
// changes that committed; each slice that changes something records its
// events through a port of its own.
package audit

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/user"
)

// Type names what happened.
type Type string

// The event types.
const (
	UserSignedUp   Type = "user.signed_up"  // actor none, target the new user
	UserCreated    Type = "user.created"    // by an admin
	LoginSucceeded Type = "login.succeeded" // actor and target the user
	LoginFailed    Type = "login.failed"    // details.reason; target the account if it exists
	// ReauthenticationFailed is a wrong current password of a logged-in
	// user (details.action: what it was to allow); actor and target the user.
	ReauthenticationFailed Type = "reauthentication.failed"
	PasswordChanged        Type = "user.password_changed" // by the user
	PasswordSet            Type = "user.password_set"     // by an admin
	UserInactivated        Type = "user.inactivated"
	UserReactivated        Type = "user.reactivated"
	AdminGranted           Type = "user.granted_admin"
	AdminRevoked           Type = "user.revoked_admin"
	SessionEnded           Type = "session.ended"       // details.reason (a session.EndReason) and details.ended
	EmailVerified          Type = "user.email_verified" // by the holder of the link: actor none
	EmailChanged           Type = "user.email_changed"  // by the user; details.removed when no address is left
	RecoveryRequested      Type = "recovery.requested"  // a known, verified, active address only; actor none
	PasswordRecovered      Type = "user.password_recovered"
	TOTPEnabled            Type = "mfa.totp_enabled"  // by the user
	TOTPDisabled           Type = "mfa.totp_disabled" // by the user
	// RecoveryCodesGenerated is a new set of recovery codes (the old set
	// void): with a first factor, or asked for; details.count.
	RecoveryCodesGenerated Type = "mfa.recovery_codes_generated"
	MFAReset               Type = "mfa.reset"            // by an admin: every factor and code removed
	WebAuthnAdded          Type = "mfa.webauthn_added"   // details.passkey (its id) and name
	WebAuthnRemoved        Type = "mfa.webauthn_removed" // details.passkey
	// UserDeleted is an account deleted by its user; details.user_id keeps
	// who it was once the account's references in the trail are null.
	UserDeleted Type = "user.deleted"
	// Identities of identity providers (SPEC 4d): details.provider, and
	// details.via of a link: email_match (a trusted provider's verified
	// address, at sign-in) or signed_in (the user linked it).
	IdentityLinked   Type = "identity.linked"
	IdentityUnlinked Type = "identity.unlinked" // by the user or an admin

	// Webhooks (by a super admin; details.webhook is the endpoint's id).
	WebhookCreated       Type = "webhook.created"
	WebhookUpdated       Type = "webhook.updated" // details.changed: the fields changed
	WebhookSecretRotated Type = "webhook.secret_rotated"
	WebhookDeleted       Type = "webhook.deleted"
	// WebhookDisabled is an endpoint the delivery loop disabled: actor
	// none; details.reason "gone" (it answered 410) or "failing" (five
	// days of failed attempts).
	WebhookDisabled Type = "webhook.disabled"
	// API keys (SPEC 4f): details.key (its id), name and scope; revoked:
	// details.reason (an apikey.Reason), details.revoked (a count) and
	// details.key when one key was named.
	APIKeyCreated Type = "api_key.created"
	APIKeyRevoked Type = "api_key.revoked"
)

// Types lists every type: a new type is its constant and its entry here.
// The OpenAPI document's enum is filled in from this list, and tests hold
// the event table of docs/api.md ("Audit trail") and the constants to it.
var Types = []Type{
	UserSignedUp, UserCreated, LoginSucceeded, LoginFailed, ReauthenticationFailed, PasswordChanged, PasswordSet,
	UserInactivated, UserReactivated, AdminGranted, AdminRevoked, SessionEnded, EmailVerified, EmailChanged,
	RecoveryRequested, PasswordRecovered, TOTPEnabled, TOTPDisabled, RecoveryCodesGenerated, MFAReset, WebAuthnAdded, WebAuthnRemoved,
	UserDeleted,
	WebhookCreated, WebhookUpdated, WebhookSecretRotated, WebhookDeleted, WebhookDisabled,
	IdentityLinked, IdentityUnlinked,
	APIKeyCreated, APIKeyRevoked,
}

// Valid reports whether t is one of Types.
func (t Type) Valid() bool { return slices.Contains(Types, t) }

// Why a login failed (details.reason of login.failed).
const (
	ReasonUnknownUser     = "unknown_user"
	ReasonWrongPassword   = "wrong_password"
	ReasonAccountInactive = "account_inactive"
	ReasonWrongCode       = "wrong_code" // a second step's code or recovery code
	// A second step's passkey answer that did not verify (another origin,
	// another credential, a used or expired challenge).
	ReasonInvalidCredential = "invalid_credential"
	// A passkey whose signature counter went back: a cloned authenticator.
	ReasonClonedCredential = "cloned_credential"
	// A refused sign-in with an identity provider: the identity is another
	// account's, or an account has its address (identity_conflict); the
	// flow is unknown, spent, expired or another browser's; the ID token
	// did not verify; the provider failed or refused. signup_disabled and
	// email_required are the provider's policy refusing a new account.
	ReasonIdentityConflict  = "identity_conflict"
	ReasonOAuthStateInvalid = "oauth_state_invalid"
	ReasonIDTokenInvalid    = "id_token_invalid"
	ReasonProviderError     = "provider_error"
)

// LoginFailure returns the login.failed event of a refused login for
// reason (one of the Reason constants): anonymous, its target the account
// tried (uuid.Nil when unknown: a typed name is never stored).
func LoginFailure(ctx context.Context, now time.Time, target uuid.UUID, reason string) Event {
	return New(ctx, now, LoginFailed, uuid.Nil, target, map[string]any{"reason": reason})
}

// Party is an account an event names. The zero Party is nobody: an
// anonymous actor, or an unknown username (which is never stored).
type Party struct {
	ID       uuid.UUID
	Username string // filled when events are read
}

// Source is the client a request came from.
type Source struct {
	IP        string
	UserAgent string // cleaned as for sessions: see session.CleanUserAgent
	RequestID string
}

type sourceKey struct{}

// WithSource returns ctx carrying the request's client, for the events the
// request records.
func WithSource(ctx context.Context, s Source) context.Context {
	return context.WithValue(ctx, sourceKey{}, s)
}

// SourceFrom returns the client WithSource put in ctx, or the zero Source.
func SourceFrom(ctx context.Context) Source {
	s, _ := ctx.Value(sourceKey{}).(Source)
	return s
}

// Event is one recorded security event. Details is a small JSON object of
// strings and numbers.
type Event struct {
	ID         uuid.UUID
	OccurredAt time.Time
	Type       Type
	Actor      Party
	Target     Party
	Source
	Details map[string]any
}

type apiKeyKey struct{}

// WithAPIKey returns ctx of a request made with the API key whose id is
// id: every event the request records names it (details.api_key).
func WithAPIKey(ctx context.Context, id uuid.UUID) context.Context {
	return context.WithValue(ctx, apiKeyKey{}, id)
}

// APIKeyFrom returns the id of the API key the request in ctx was made
// with, or Nil.
func APIKeyFrom(ctx context.Context) uuid.UUID {
	id, _ := ctx.Value(apiKeyKey{}).(uuid.UUID)
	return id
}

// New returns an event of type t that actor did to target at now, from the
// client in ctx. A Nil id is nobody. An event of a request made with an
// API key names the key in details.api_key.
func New(ctx context.Context, now time.Time, t Type, actor, target uuid.UUID, details map[string]any) Event {
	if details == nil {
		details = map[string]any{}
	}
	if key := APIKeyFrom(ctx); !key.IsNil() {
		details["api_key"] = key.String()
	}
	return Event{
		ID: user.NewID(), OccurredAt: user.Timestamp(now), Type: t,
		Actor: Party{ID: actor}, Target: Party{ID: target},
		Source: SourceFrom(ctx), Details: details,
	}
}

// SessionsEnded returns the session.ended event of n sessions of target
// ended by actor for reason, and false when n is 0: nothing ended, nothing
// to record.
func SessionsEnded[Reason ~string](ctx context.Context, now time.Time, actor, target uuid.UUID, reason Reason, n int) (Event, bool) {
	if n <= 0 {
		return Event{}, false
	}
	return New(ctx, now, SessionEnded, actor, target, map[string]any{"reason": string(reason), "ended": n}), true
}

// Ended returns the reason (a session.EndReason) and count of a
// session.ended event, and false for any other event.
func (e Event) Ended() (string, int, bool) {
	if e.Type != SessionEnded {
		return "", 0, false
	}
	reason, _ := e.Details["reason"].(string)
	var n int
	switch v := e.Details["ended"].(type) {
	case int:
		n = v
	case float64: // read back from JSON
		n = int(v)
	}
	return reason, n, true
}

// Query selects a page of events, newest first (occurred_at, then id,
// descending): those of Types (all when empty), by the user named Actor,
// on the user named Target or with TargetID, at Since or later and before
// Until (zero: unbounded), Limit of them after After.
type Query struct {
	Types        []Type
	Actor        string
	Target       string
	TargetID     uuid.UUID
	Since, Until time.Time
	Limit        int
	After        *Position
}

// Position is an event's place in the order of a Query.
type Position struct {
	OccurredAt time.Time
	ID         uuid.UUID
}

// PositionOf returns e's position.
func PositionOf(e Event) Position { return Position{OccurredAt: e.OccurredAt, ID: e.ID} }

// timeText is the text form of times in cursors and filters: RFC 3339, UTC,
// to the microsecond.
const timeText = "2006-01-02T15:04:05.000000Z07:00"

// FormatTime returns t as cursors carry it.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeText)
}

// ParseTime reads a time as FormatTime writes it, or "" as the zero time.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(timeText, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: %w", s, err)
	}
	return t.UTC(), nil
}

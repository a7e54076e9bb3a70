package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/user"
)

// AttemptStore keeps attempt windows where every replica sees them: per
// key, how many attempts were counted since the window began. A window
// that began length ago or earlier starts over at the next attempt.
type AttemptStore interface {
	// ReserveAttempts counts one attempt in the window of each limit that
	// does not already hold its Max, atomically (all in one statement, in
	// the order given), and reports for each whether it did and when its
	// window began.
	ReserveAttempts(ctx context.Context, now time.Time, length time.Duration, limits []Limit) ([]Reservation, error)
	// ReleaseAttempt gives back one attempt counted in key's window, if
	// that window (the one begun at start) is still the current one.
	ReleaseAttempt(ctx context.Context, key string, start time.Time) error
	// ClearAttempts empties key's window.
	ClearAttempts(ctx context.Context, key string) error
}

// Reservation is what ReserveAttempts did in one window: counted the
// attempt, or found the window full; and when the window began.
type Reservation struct {
	Counted bool
	Start   time.Time
}

// Limit is one window to count an attempt in: its key and how many
// attempts it holds.
type Limit struct {
	Key string
	Max int
	// Clear, on success, empties the window rather than giving the
	// attempt back: a right password forgets the wrong ones before it.
	Clear bool
}

// Attempt is an attempt counted before it is made. Counting first is what
// makes a limit exact under concurrency and across replicas: at most
// Max attempts can be in flight or failed in one window, so at most Max
// wrong secrets are ever checked. A failed attempt needs nothing more: it
// stays counted.
type Attempt struct {
	store   AttemptStore
	limits  []Limit
	started []time.Time
}

// Reserve counts one attempt in every window of limits before the attempt
// is made. When one of them is full, none stays counted and the error is
// tooMany(the wait until every full window has ended, at least a second).
func Reserve(ctx context.Context, store AttemptStore, now time.Time, length time.Duration, tooMany func(time.Duration) *apperr.Error, limits ...Limit) (Attempt, error) {
	rs, err := store.ReserveAttempts(ctx, now, length, limits)
	if err != nil {
		return Attempt{}, err
	}
	a := Attempt{store: store}
	var wait time.Duration // until the last full window ends
	for k, r := range rs {
		if !r.Counted {
			wait = max(wait, r.Start.Add(length).Sub(now), time.Second)
			continue
		}
		a.limits, a.started = append(a.limits, limits[k]), append(a.started, r.Start)
	}
	if wait > 0 {
		return Attempt{}, a.Abandon(ctx, tooMany(wait))
	}
	return a, nil
}

// Succeeded settles a successful attempt: windows marked Clear are
// emptied, the others get the attempt back. Call it in the transaction of
// the change the attempt allowed, so that a change that rolls back leaves
// the attempt counted.
func (a Attempt) Succeeded(ctx context.Context) error {
	for k, l := range a.limits {
		var err error
		if l.Clear {
			err = a.store.ClearAttempts(ctx, l.Key)
		} else {
			err = a.store.ReleaseAttempt(ctx, l.Key, a.started[k])
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Passed settles an attempt whose secret was right but whose login goes
// on (a second factor is due): the attempt is given back in every window,
// and the failures before it stay counted, so that the second step's
// wrong codes add to them and starting over buys no tries. Call it in the
// transaction that stores the pending login.
func (a Attempt) Passed(ctx context.Context) error {
	for k, l := range a.limits {
		if err := a.store.ReleaseAttempt(ctx, l.Key, a.started[k]); err != nil {
			return err
		}
	}
	return nil
}

// Abandon gives every counted attempt back when the attempt
// ends with cause and no wrong password (a fault, a full window, an
// inactive account's right one), and returns cause, with the release's own
// failure if there is one.
func (a Attempt) Abandon(ctx context.Context, cause error) error {
	if err := a.release(ctx); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// release gives every counted attempt back, also when ctx was cancelled.
func (a Attempt) release(ctx context.Context) error {
	if len(a.limits) == 0 {
		return nil
	}
	// Also when the request was cancelled (the client went away while it
	// waited for a hash): a cancelled attempt must not stay counted as a
	// wrong password. Bounded, as every wait.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ReleaseTimeout)
	defer cancel()
	var errs []error
	for k, l := range a.limits {
		errs = append(errs, a.store.ReleaseAttempt(ctx, l.Key, a.started[k]))
	}
	return errors.Join(errs...)
}

// ReleaseTimeout bounds how long giving attempts back may take.
const ReleaseTimeout = 2 * time.Second

// Guard limits password guesses: per account name and per client
// network, inside one window. Every check of a password, at login or of a
// logged-in user's current password, goes through it.
type Guard struct {
	PerUser int
	PerIP   int
	Window  time.Duration
	// Key keys the username windows (HMAC-SHA256), so that the store never
	// holds a typed name: it may be a password typed in the wrong field.
	Key []byte
}

// Reserve counts a password attempt for username and the client at ip;
// a username that cannot exist (see Plausible) is counted for the client
// only, and nothing is stored of it.
func (g Guard) Reserve(ctx context.Context, store AttemptStore, now time.Time, username, ip string) (Attempt, error) {
	// The username's window first: the reservation and the settling lock
	// the two rows in this order, so that they never wait for each other
	// in a cycle.
	limits := make([]Limit, 0, 2)
	if Plausible(username) {
		limits = append(limits, Limit{Key: g.UserKey(username), Max: g.PerUser, Clear: true})
	}
	limits = append(limits, g.ClientLimit(ip))
	return Reserve(ctx, store, now, g.Window, ErrTooManyAttempts, limits...)
}

// ClientLimit is the window of the client at ip that every password
// attempt counts in (Reserve), with its limit: other guesses of a secret
// (a recovery link's token) count in it too, with Reserve(ctx, store, now,
// g.Window, ErrTooManyAttempts, g.ClientLimit(ip)).
func (g Guard) ClientLimit(ip string) Limit {
	return Limit{Key: "ip:" + ClientNetwork(ip), Max: g.PerIP}
}

// UserKey is the window key of a typed username (usernames ignore case).
func (g Guard) UserKey(username string) string { return WindowKey(g.Key, "user:", username) }

// WindowKey is the key of a window counted per name: prefix and a keyed
// hash (HMAC-SHA256 under key) of the folded name, so that no typed name
// or address is stored in the clear.
func WindowKey(key []byte, prefix, name string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strings.ToLower(name)))
	return prefix + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Plausible reports whether username may name an account: not longer than
// the username rule allows (in bytes: usernames are ASCII). Anything longer
// is unknown before any lookup or write.
func Plausible(username string) bool {
	return len(username) <= user.UsernameMaxLen
}

// ClientNetwork is what one client counts as: its IPv4 address, or the /64
// of its IPv6 address (one subscriber's network: an attacker holding one
// gets no more tries than one address). Anything else stays as it is.
func ClientNetwork(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap()
	if addr.Is4() {
		return addr.String()
	}
	p, _ := addr.WithZone("").Prefix(64)
	return p.String()
}

// CeremonyLimit bounds the ceremonies of one kind (WebAuthn's; identity
// providers' flows) one client (an IPv4 address, an IPv6 /64) may begin
// per window: each begin stores a row until it is finished or expires,
// and a passwordless one needs no account, so without a bound anyone could
// fill the table. Each kind has a window of its own, so that one kind's
// starts (a provider's, which any page can make a browser load) never
// throttle another's.
type CeremonyLimit struct {
	Kind   string // the window's key prefix: "ceremony" (WebAuthn), "oauth"
	PerIP  int
	Window time.Duration
}

// Reserve counts one ceremony begun by the client at ip: ErrTooManyAttempts
// once the window holds PerIP. Begun ceremonies stay counted.
func (l CeremonyLimit) Reserve(ctx context.Context, store AttemptStore, now time.Time, ip string) error {
	kind := l.Kind
	if kind == "" {
		kind = "ceremony"
	}
	_, err := Reserve(ctx, store, now, l.Window, ErrTooManyAttempts, Limit{Key: kind + ":" + ClientNetwork(ip), Max: l.PerIP})
	return err
}

// SignupLimit is the window of the client at ip that every new account it
// makes counts in (a signup, a first sign-in with an identity provider),
// holding max.
func SignupLimit(ip string, max int) Limit {
	return Limit{Key: "signup:ip:" + ClientNetwork(ip), Max: max}
}

package auth

import (
	"context"
	"errors"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/mfa"
)

// ReauthStore is what a re-authenticated change needs from the store: the
// attempt windows, the trail for a wrong password, the user's factors
// (the assurance rule), the user's row lock and the transaction the change
// is made in.
type ReauthStore interface {
	AttemptStore
	AssuranceStore
	RecordEvent(ctx context.Context, e audit.Event) error
	// LockUserWithPassword locks a user's row while the user still has
	// the password hash given, and reports whether they had it.
	LockUserWithPassword(ctx context.Context, userID uuid.UUID, passwordHash string) (bool, error)
	// SessionExists reports whether a session is still stored (not ended
	// since the request was authenticated).
	SessionExists(ctx context.Context, id []byte) (bool, error)
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Verifier checks a password against a stored hash.
type Verifier interface {
	Verify(ctx context.Context, encoded, password string) (bool, error)
}

// Reauthentication is a logged-in user's current password, checked for one
// change. Its Change is the only way into that change's transaction, so a
// slice cannot store a change on the strength of a password that a reset
// or recovery has replaced since, nor forget to settle the attempt.
type Reauthentication struct {
	store   ReauthStore
	actor   Actor
	attempt Attempt
}

// Reauthenticate is every check of a logged-in user's current password (a
// password or address change, a second-factor change): it counts in the
// same windows as logins (ErrTooManyAttempts while they are full, before
// any verification), and a wrong password is recorded as
// reauthentication.failed with details.action and answered
// ErrWrongPassword. The password is checked against actor.User.PasswordHash,
// the hash read when the request was authenticated; make the change with
// the returned value's Change. An API key is refused
// (ErrSessionRequired), whatever the route it came through.
func (g Guard) Reauthenticate(ctx context.Context, store ReauthStore, hasher Verifier, now time.Time, actor Actor, password, ip, action string) (Reauthentication, error) {
	// A credential is a person's: never changed through an API key.
	if err := RequireSession(actor); err != nil {
		return Reauthentication{}, err
	}
	// Refused before the password is checked, so that it costs no try
	// (Change checks again, under the row lock).
	if err := CheckAssurance(ctx, store, actor); err != nil {
		return Reauthentication{}, err
	}
	a, err := g.Reserve(ctx, store, now, actor.User.Username, ip)
	if err != nil {
		return Reauthentication{}, err
	}
	ok, err := hasher.Verify(ctx, actor.User.PasswordHash, password)
	if err != nil {
		return Reauthentication{}, a.Abandon(ctx, err)
	}
	if !ok {
		e := audit.New(ctx, now, audit.ReauthenticationFailed, actor.User.ID, actor.User.ID, map[string]any{"action": action})
		if err := store.RecordEvent(ctx, e); err != nil {
			return Reauthentication{}, err
		}
		return Reauthentication{}, ErrWrongPassword
	}
	return Reauthentication{store: store, actor: actor, attempt: a}, nil
}

// RecentSignIn is how recently a session must have been signed in to
// stand for the password of a user who has none (see Confirm).
const RecentSignIn = 10 * time.Minute

// Confirm re-authenticates a change that a user without a password (an
// account made through an identity provider) may make too: with the
// current password when the user has one (Reauthenticate), else by a
// session signed in within RecentSignIn (ErrReauthenticationRequired: sign
// in again), under the same assurance rule. Make the change with the
// returned value's Change, which checks again, under the row lock, that
// the user still has no password (one set since is ErrWrongPassword). An
// API key is refused (ErrSessionRequired), as by Reauthenticate.
func (g Guard) Confirm(ctx context.Context, store ReauthStore, hasher Verifier, now time.Time, actor Actor, password, ip, action string) (Reauthentication, error) {
	if actor.User.HasPassword() {
		return g.Reauthenticate(ctx, store, hasher, now, actor, password, ip, action)
	}
	if err := RequireSession(actor); err != nil {
		return Reauthentication{}, err
	}
	if err := CheckAssurance(ctx, store, actor); err != nil {
		return Reauthentication{}, err
	}
	if actor.SignedInAt.IsZero() || now.Sub(actor.SignedInAt) > RecentSignIn {
		return Reauthentication{}, ErrReauthenticationRequired
	}
	return Reauthentication{store: store, actor: actor}, nil
}

// Change makes the change fn describes in one transaction that first locks
// the user's row, only while the password checked is still theirs (a reset,
// recovery or other change since then wins: ErrWrongPassword, and the
// attempt stays counted), while the caller's session still exists (one
// ended meanwhile: ErrNotAuthenticated) and while it is strong enough for the
// user's factors as they are now (CheckAssurance: a factor enrolled since
// the session was made counts), and settles the attempt with the change. A
// change refused for any other reason (fn's error, a fault) gives the
// attempt back: a right password never counts as a failure.
func (r Reauthentication) Change(ctx context.Context, fn func(ctx context.Context) error) error {
	err := r.store.WithinTx(ctx, func(ctx context.Context) error {
		ok, err := r.store.LockUserWithPassword(ctx, r.actor.User.ID, r.actor.User.PasswordHash)
		if err != nil {
			return err
		}
		if !ok {
			return ErrWrongPassword
		}
		// Read after the lock: a reset of the factors, an inactivation or
		// an admin that ended the session while the password was checked
		// (each under the same lock) is seen, and nothing is changed, or
		// made (an API key), on the strength of an ended session.
		alive, err := r.store.SessionExists(ctx, r.actor.SessionID)
		if err != nil {
			return err
		}
		if !alive {
			return ErrNotAuthenticated
		}
		if err := CheckAssurance(ctx, r.store, r.actor); err != nil {
			return err
		}
		if err := fn(ctx); err != nil {
			return err
		}
		return r.attempt.Succeeded(ctx)
	})
	if err != nil && !errors.Is(err, ErrWrongPassword) {
		return r.attempt.Abandon(ctx, err)
	}
	return err
}

// Abandon gives the attempt back when the change is given up before
// Change (a fault while preparing it), and returns cause.
func (r Reauthentication) Abandon(ctx context.Context, cause error) error {
	return r.attempt.Abandon(ctx, cause)
}

// AssuranceStore reads a user's second factors.
type AssuranceStore interface {
	Factors(ctx context.Context, userID uuid.UUID) (mfa.Factors, error)
}

// CheckAssurance is the assurance rule of every credential change
// (password, address, second factors, recovery codes): a user who has a
// second factor makes it only from a session made with one (aal 2), so
// that a password alone, or a session from before the enrollment, cannot
// manage the factors: ErrAAL2Required. In a transaction that holds the
// user's row lock it sees a factor enrolled by a racing request.
func CheckAssurance(ctx context.Context, store AssuranceStore, actor Actor) error {
	if mfa.AAL(actor.Methods) >= mfa.AAL2 {
		return nil
	}
	f, err := store.Factors(ctx, actor.User.ID)
	if err != nil {
		return err
	}
	return Assured(actor, f)
}

// Assured is the assurance rule for a user whose factors are f, already
// read (in the change's transaction): ErrAAL2Required when they have a
// second factor and the actor's session was not made with one.
func Assured(actor Actor, f mfa.Factors) error {
	if f.Any() && mfa.AAL(actor.Methods) < mfa.AAL2 {
		return ErrAAL2Required
	}
	return nil
}

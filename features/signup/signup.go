// Package signup registers a new account with the user role.
package signup

import (
	"context"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Interactor signs users up.
type Interactor struct {
	store  Store
	hasher Hasher
	mailer Mailer
	verify onetime.Verifications
	limit  Limit
	rules  user.AccountRules
	now    func() time.Time
}

// Limit bounds the signups one client may attempt: Max per Window (0: no
// limit). Each attempt that passes validation counts, taken name or not:
// otherwise signup would be an unlimited oracle of which names exist, and
// a free way to keep the hashers busy.
type Limit struct {
	Max    int
	Window time.Duration
}

// New returns the interactor; verify sends the message to a new address.
func New(store Store, hasher Hasher, mailer Mailer, verify onetime.Verifications, limit Limit, rules user.AccountRules, now func() time.Time) *Interactor {
	return &Interactor{store: store, hasher: hasher, mailer: mailer, verify: verify, limit: limit, rules: rules, now: now}
}

// Input is what a new user chooses (Email is optional unless the rules
// require it), and the client asking.
type Input struct {
	Username string
	Password string
	Email    string
	ClientIP string
}

// Execute creates an active account with the user role.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) (user.User, error) {
	if actor.Authenticated() {
		return user.User{}, auth.ErrAlreadyAuthenticated
	}
	if err := i.rules.Check(in.Username, in.Password, in.Email); err != nil {
		return user.User{}, err
	}
	now := i.now()
	if i.limit.Max > 0 {
		// Counted before anything is checked, so that concurrent signups
		// cannot pass the limit.
		if _, err := auth.Reserve(ctx, i.store, now, i.limit.Window, auth.ErrTooManySignups, auth.SignupLimit(in.ClientIP, i.limit.Max)); err != nil {
			return user.User{}, fmt.Errorf("sign up: %w", err)
		}
	}
	hash, err := i.hasher.Hash(ctx, in.Password)
	if err != nil {
		return user.User{}, fmt.Errorf("sign up %s: %w", in.Username, err)
	}
	u := user.New(in.Username, hash, user.RoleUser, now)
	u.Email = in.Email
	var message onetime.Verification
	if u.Email != "" {
		// An address others have sent too many messages to is still
		// taken, without a message (message.Sends() is false).
		if message, err = i.verify.Reserve(ctx, i.store, now, u.ID, u.Email); err != nil {
			return user.User{}, fmt.Errorf("sign up: %w", err)
		}
	}
	err = i.store.WithinTx(ctx, func(ctx context.Context) error {
		if err := i.store.InsertUser(ctx, u); err != nil {
			return err
		}
		if err := message.Send(ctx, i.store, i.mailer, u, now); err != nil {
			return err
		}
		return i.store.RecordEvent(ctx, audit.New(ctx, u.CreatedAt, audit.UserSignedUp, uuid.Nil, u.ID, nil))
	})
	if err != nil {
		return user.User{}, fmt.Errorf("sign up: %w", message.Abandon(ctx, err))
	}
	return u, nil
}

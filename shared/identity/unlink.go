package identity

import (
	"context"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/user"
)

// UnlinkStore is what unlinking an identity reads and writes, in one
// transaction.
type UnlinkStore interface {
	Identities(ctx context.Context, userID uuid.UUID) ([]Identity, error)
	Factors(ctx context.Context, userID uuid.UUID) (mfa.Factors, error)
	DeleteIdentity(ctx context.Context, userID, id uuid.UUID) error
	RecordEvent(ctx context.Context, e audit.Event) error
}

// Mailer queues a message in the transaction in ctx.
type Mailer interface {
	Queue(ctx context.Context, m mail.Message) error
}

// Providers are the configured providers, by id.
type Providers interface {
	Provider(id string) (Provider, bool)
}

// Name is the name of the provider id, or id itself when it is no longer
// configured.
func Name(ps Providers, id string) string {
	if p, ok := ps.Provider(id); ok {
		return p.Name
	}
	return id
}

// Find returns the identity of ids whose public id is id;
// ErrIdentityNotFound when none is.
func Find(ids []Identity, id uuid.UUID) (Identity, error) {
	for _, i := range ids {
		if i.ID == id {
			return i, nil
		}
	}
	return Identity{}, ErrIdentityNotFound
}

// Unlink removes the identity id of u, by actor (u, or an admin), in the
// transaction in ctx, which holds u's row lock, so that two removals at
// once see each other: ErrIdentityNotFound when u has no such identity,
// ErrLastSignInMethod when it is u's last way to sign in (no password, no
// passkey that signs in without one, no other identity). It records identity.unlinked and mails the
// notice, naming the provider as ps does, to u's verified address.
func Unlink(ctx context.Context, store UnlinkStore, mailer Mailer, ps Providers, now time.Time, actor uuid.UUID, u user.User, id uuid.UUID) error {
	ids, err := store.Identities(ctx, u.ID)
	if err != nil {
		return err
	}
	gone, err := Find(ids, id)
	if err != nil {
		return err
	}
	f, err := store.Factors(ctx, u.ID)
	if err != nil {
		return err
	}
	// A passkey counts only when it signs in on its own (it verified its
	// user): a security key without a PIN is a second factor, not a way in.
	if !u.HasPassword() && f.SignInPasskeys == 0 && len(ids) == 1 {
		return ErrLastSignInMethod
	}
	if err := store.DeleteIdentity(ctx, u.ID, id); err != nil {
		return err
	}
	e := audit.New(ctx, now, audit.IdentityUnlinked, actor, u.ID, map[string]any{"provider": gone.Provider, "identity": gone.ID.String()})
	if err := store.RecordEvent(ctx, e); err != nil {
		return err
	}
	if m, ok := mail.IdentityUnlinked(u, Name(ps, gone.Provider)); ok {
		return mailer.Queue(ctx, m)
	}
	return nil
}

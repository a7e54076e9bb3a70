package sqlstore_test

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/identity"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

func newIdentity(userID uuid.UUID, issuer, subject string) identity.Identity {
	return identity.Identity{ID: uuid.Must(uuid.NewV7()), UserID: userID, Provider: "corp", Issuer: issuer, Subject: subject,
		Email: subject + "@example.com", CreatedAt: t0}
}

// newFlow is a sign-in flow that expires at expires, with a random state.
func newFlow(userID uuid.UUID, expires time.Time) identity.Flow {
	return identity.Flow{ID: uuid.Must(uuid.NewV4()), StateHash: identity.Digest(rand.Text()), Provider: "corp", Purpose: identity.PurposeLink,
		UserID: userID, Nonce: "nonce", Verifier: []byte("sealed"), Binding: identity.Digest("binding"), ReturnTo: "/",
		CreatedAt: expires.Add(-identity.FlowTTL), ExpiresAt: expires}
}

// TestIdentities: an identity is (issuer, subject), linked to one account
// at most; a user's identities are listed in the order linked, used,
// unlinked only by their user, and go with the account.
func TestIdentities(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		alice, bob := insertUser(t, s, "alice"), insertUser(t, s, "bob.smith")
		a := newIdentity(alice.ID, "https://idp.example.com", "248289761001")
		if err := s.InsertIdentity(ctx, a); err != nil {
			t.Fatal(err)
		}
		// The same subject of another issuer is another identity.
		other := newIdentity(alice.ID, "https://other.example.com", "248289761001")
		other.CreatedAt = t0.Add(time.Second)
		if err := s.InsertIdentity(ctx, other); err != nil {
			t.Fatal(err)
		}
		// The same (issuer, subject) for bob: in use, and a transaction
		// that meets it is still usable (no failed statement in it).
		err := s.WithinTx(ctx, func(ctx context.Context) error {
			if err := s.InsertIdentity(ctx, newIdentity(bob.ID, a.Issuer, a.Subject)); !errors.Is(err, identity.ErrIdentityInUse) {
				t.Errorf("the same identity for bob: %v", err)
			}
			_, err := s.IdentityBySubject(ctx, a.Issuer, a.Subject)
			return err
		})
		if err != nil {
			t.Fatalf("the transaction after the conflict: %v", err)
		}
		got, err := s.IdentityBySubject(ctx, a.Issuer, a.Subject)
		if err != nil || got.UserID != alice.ID || got.ID != a.ID || got.Email != a.Email || !got.CreatedAt.Equal(t0) || !got.LastUsedAt.IsZero() {
			t.Fatalf("by subject: %+v, %v", got, err)
		}
		if _, err := s.IdentityBySubject(ctx, a.Issuer, "other"); !errors.Is(err, identity.ErrIdentityNotFound) {
			t.Fatalf("an unknown subject: %v", err)
		}
		if err := s.UseIdentity(ctx, a.ID, "new@example.com", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		list, err := s.Identities(ctx, alice.ID)
		if err != nil || len(list) != 2 || list[0].ID != a.ID || list[1].ID != other.ID || list[0].Email != "new@example.com" || !list[0].LastUsedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("alice's identities: %+v, %v", list, err)
		}
		if n, err := s.CountIdentities(ctx, alice.ID); err != nil || n != 2 {
			t.Fatalf("count: %d, %v", n, err)
		}
		if err := s.DeleteIdentity(ctx, bob.ID, a.ID); !errors.Is(err, identity.ErrIdentityNotFound) {
			t.Fatalf("bob unlinks alice's identity: %v", err)
		}
		if err := s.DeleteIdentity(ctx, alice.ID, a.ID); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.CountIdentities(ctx, alice.ID); n != 1 {
			t.Fatalf("%d identities left", n)
		}
		// Unlinked, the identity is free for bob.
		if err := s.InsertIdentity(ctx, newIdentity(bob.ID, a.Issuer, a.Subject)); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteUser(ctx, alice.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.IdentityBySubject(ctx, other.Issuer, other.Subject); !errors.Is(err, identity.ErrIdentityNotFound) {
			t.Fatalf("a deleted account's identity: %v", err)
		}
	})
}

// TestFlowIsSpentOnce: of ten callbacks spending one state at once, on two
// replicas, one gets the flow; an expired flow is nobody's.
func TestFlowIsSpentOnce(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			url := dbtest.URL(t, engine)
			stores := []*sqlstore.Store{dbtest.OpenOn(t, engine, url, nil), dbtest.OpenOn(t, engine, url, nil)}
			spentOnce(t, stores)
		})
	}
}

// spentOnce runs TestFlowIsSpentOnce on two stores of one database.
func spentOnce(t *testing.T, stores []*sqlstore.Store) {
	s, ctx := stores[0], context.Background()
	u := insertUser(t, s, "alice")
	f := newFlow(u.ID, t0.Add(time.Minute))
	if err := s.InsertFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	var won, refused atomic.Int32
	var wg sync.WaitGroup
	for k := range 10 {
		wg.Go(func() {
			got, err := stores[k%2].TakeFlow(ctx, f.StateHash, t0)
			switch {
			case err == nil:
				won.Add(1)
				if got.ID != f.ID || got.UserID != u.ID || got.Purpose != identity.PurposeLink || got.Nonce != "nonce" ||
					string(got.Verifier) != "sealed" || !got.Binds("binding") || got.Binds("other") || !got.ExpiresAt.Equal(f.ExpiresAt) {
					t.Errorf("the flow taken: %+v", got)
				}
			case errors.Is(err, identity.ErrStateInvalid):
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 || refused.Load() != 9 {
		t.Fatalf("%d callbacks got the flow, %d were refused", won.Load(), refused.Load())
	}
	expired := newFlow(uuid.Nil, t0)
	expired.Purpose = identity.PurposeSignIn
	if err := s.InsertFlow(ctx, expired); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeFlow(ctx, expired.StateHash, t0); !errors.Is(err, identity.ErrStateInvalid) {
		t.Fatalf("an expired flow: %v", err)
	}
}

// TestEmailClaimed: an address is claimed by an account that has it
// unverified, ignoring case; a verified address is not a claim.
func TestEmailClaimed(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		u := newUser("alice", user.RoleUser)
		u.Email = "Alice@Example.com"
		if err := s.InsertUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.EmailClaimed(ctx, "alice@example.COM"); err != nil || !ok {
			t.Fatalf("claimed: %v, %v", ok, err)
		}
		if ok, err := s.EmailClaimed(ctx, "bob@example.com"); err != nil || ok {
			t.Fatalf("another address: %v, %v", ok, err)
		}
		if err := s.SetEmailVerified(ctx, u.ID, u.Email, t0); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.EmailClaimed(ctx, u.Email); err != nil || ok {
			t.Fatalf("verified: %v, %v", ok, err)
		}
	})
}

// TestPendingLoginMethod: a pending login keeps its first step's method.
func TestPendingLoginMethod(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		u := insertUser(t, s, "alice")
		_, id := session.NewPendingSecret()
		p := session.Pending{ID: id, UserID: u.ID, VerifiedHash: "h", Method: "oidc", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
		if err := s.InsertPendingLogin(ctx, p); err != nil {
			t.Fatal(err)
		}
		if got, err := s.PendingLogin(ctx, id, t0); err != nil || got.Method != "oidc" {
			t.Fatalf("pending: %+v, %v", got, err)
		}
		if got, err := s.CountPendingAttempt(ctx, id, t0, 5); err != nil || got.Method != "oidc" {
			t.Fatalf("counted: %+v, %v", got, err)
		}
	})
}

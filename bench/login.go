package main

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/cleanslice/cleanslice/features/login"
	"github.com/cleanslice/cleanslice/platform/config"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/signin"
)

// loginSQLOp is (g4): a successful login's database work and nothing else
// (its two reads and its transaction, through the login interactor itself
// on the same store), each as another active seeded user from another
// address like (d)'s, with a hasher that says yes at once. With (h) it
// composes the floor of (d): doing nothing but a verification and a
// login's SQL per login, on the same cores, gives 1/(1/h + 1/g4).
func loginSQLOp(svc *service, store *sqlstore.Store, cfg config.Config) op {
	a := cfg.Auth
	// Every attempt succeeds, so the throttle's limits never apply.
	i := login.New(store, yesHasher{}, noOutcomes{}, login.Config{
		SignIn:     signin.Rules{Policy: session.Policy{TTL: a.SessionTTL, RefreshRatio: a.SessionRefreshRatio, AbsoluteTTL: a.SessionAbsoluteTTL}, SessionsPerUser: a.MaxSessionsPerUser},
		Guard:      auth.Guard{PerUser: a.MaxFailedLogins, PerIP: a.MaxFailedLogins, Window: a.FailureWindow, Key: []byte(cfg.Password.Pepper)},
		PendingTTL: a.MFAPendingTTL,
	}, time.Now)
	var n atomic.Int64
	return func(ctx context.Context) (int, error) {
		k := n.Add(1)
		_, err := i.Execute(ctx, auth.Actor{}, login.Input{
			Username: svc.loginSeed(k), Password: benchPassword,
			ClientIP: clientAddr(k), UserAgent: "bench/1.0",
		})
		return 200, err
	}
}

// yesHasher verifies every password at once: (g4) measures the rest.
type yesHasher struct{}

func (yesHasher) Verify(context.Context, string, string) (bool, error) { return true, nil }
func (yesHasher) Hash(context.Context, string) (string, error)         { return "", nil }
func (yesHasher) NeedsRehash(string) bool                              { return false }
func (yesHasher) Dummy() string                                        { return "" }

type noOutcomes struct{}

func (noOutcomes) LoginOutcome(string) {}

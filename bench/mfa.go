package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cleanslice/cleanslice/platform/config"
	"github.com/cleanslice/cleanslice/platform/mfakeys"
	"github.com/cleanslice/cleanslice/platform/token"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/session"
)

// mfaPending is how many second steps (t) prepares: more than a run of
// the pair's slices finishes (each is used once).
const mfaPending = 60_000

// mfaWorkloads is (t), on request (-only t): the second step of a login
// (POST /auth/login/mfa, here with a recovery code: a code is good once,
// and a TOTP code once per user per 30 s step, which a load cannot
// respect) against a password login (d's), in alternating slices. Target:
// its service CPU per request at most a fifth of a login's, since it
// verifies no password. Every second step is a pending login the bench
// stored beforehand, with its own cookie (signed with the configured
// secret) and recovery code, so the slices measure the second step alone;
// every request comes from another client address.
func mfaWorkloads(ctx context.Context, svc *service, cfg config.Config, rounds int, login op, pair func(ref, w workload, rounds int) (result, result)) ([]result, error) {
	cookies, codes, err := preparePendingLogins(ctx, svc, cfg)
	if err != nil {
		return nil, fmt.Errorf("t: %w", err)
	}
	conc := 4 * runtime.NumCPU()
	cl := newClient(conc)
	var n atomic.Int64
	second := httpOp(cl, func(ctx context.Context) *http.Request {
		i := n.Add(1) - 1
		if i >= int64(len(cookies)) {
			i %= int64(len(cookies)) // spent: answered 401, and counted as such
		}
		req := jsonPost(ctx, svc.base+"/api/v1/auth/login/mfa", fmt.Sprintf(`{"recovery_code":%q}`, codes[i]), i)
		req.AddCookie(&http.Cookie{Name: cfg.Cookie.Name, Value: cookies[i]})
		return req
	})
	ref, res := pair(workload{"t POST /auth/login (password)", conc, login, svc}, workload{"t POST /auth/login/mfa (second step)", conc, second, svc}, rounds)
	if n.Load() > int64(len(cookies)) {
		return nil, fmt.Errorf("t: %d second steps asked, %d prepared: raise mfaPending", n.Load(), len(cookies))
	}
	res.Reference, res.Ratio = ref.Name, res.PerSecond/ref.PerSecond
	cpu := float64(res.CPUPerRequest) / float64(ref.CPUPerRequest)
	met := ref.CPUPerRequest > 0 && cpu <= 0.2
	res.Target, res.Met = "CPU/request <= 0.2 x a login's", &met
	res.Extra = map[string]any{"cpu_ratio": cpu}
	return []result{ref, res}, nil
}

// preparePendingLogins stores mfaPending pending logins of seeded users,
// each with a recovery code of its own, and returns their cookies and
// codes.
func preparePendingLogins(ctx context.Context, svc *service, cfg config.Config) (cookies, codes []string, err error) {
	store, err := svc.open(ctx, 4, !cfg.Database.PreparedStatements, false)
	if err != nil {
		return nil, nil, err
	}
	defer store.Close()
	keys := mfakeys.New(cfg.MFA.EncryptionKey, cfg.MFA.PreviousEncryptionKeys)
	jwt := token.NewJWT(token.Secrets{Current: cfg.Auth.JWTSecret, Previous: cfg.Auth.JWTPreviousSecrets}, time.Now)
	const users = 2000 // each user's second steps are 2000 requests apart: never in flight together
	now := time.Now().UTC()
	fmt.Fprintf(os.Stderr, "bench: t: storing %d pending logins and recovery codes...\n", mfaPending)
	// Distinct accounts: loginSeed maps two numbers to one account where
	// it skips an inactive one, and a second set of codes would void the
	// first.
	var names []string
	seen := map[string]bool{}
	for k := int64(0); len(names) < users; k++ {
		if name := svc.loginSeed(k); !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	for u := range int64(users) {
		acct, err := store.UserByUsername(ctx, names[u])
		if err != nil {
			return nil, nil, err
		}
		var digests [][]byte
		var pendings []session.Pending
		for i := u; i < mfaPending; i += users {
			code := benchRecoveryCode(i)
			normal, _ := mfa.NormalizeRecoveryCode(code)
			digests = append(digests, keys.RecoveryDigest(normal))
			secret, id := session.NewPendingSecret()
			pendings = append(pendings, session.Pending{ID: id, UserID: acct.ID, VerifiedHash: acct.PasswordHash, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
			c, err := jwt.Issue(secret, now, now.Add(time.Hour))
			if err != nil {
				return nil, nil, err
			}
			for int64(len(cookies)) <= i {
				cookies, codes = append(cookies, ""), append(codes, "")
			}
			cookies[i], codes[i] = c, code
		}
		err = store.WithinTx(ctx, func(ctx context.Context) error {
			if err := store.ReplaceRecoveryCodes(ctx, acct.ID, digests, now); err != nil {
				return err
			}
			for _, p := range pendings {
				if err := store.InsertPendingLogin(ctx, p); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return cookies, codes, nil
}

// benchRecoveryCode is the i-th recovery code: i in the codes' alphabet,
// ten characters.
func benchRecoveryCode(i int64) string {
	const alphabet = "023456789abcdefghjkmnpqrstuvwxyz"
	var b strings.Builder
	for range 10 {
		b.WriteByte(alphabet[i%32])
		i /= 32
	}
	s := b.String()
	return s[:5] + "-" + s[5:]
}

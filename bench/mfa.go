package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/platform/config"
	"github.com/cleanslice/cleanslice/platform/mfakeys"
	"github.com/cleanslice/cleanslice/platform/passkeys"
	"github.com/cleanslice/cleanslice/platform/passkeys/passkeystest"
	"github.com/cleanslice/cleanslice/platform/token"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/session"
)

// mfaPending is how many second steps (t) prepares: more than a run of
// the pair's slices finishes (each is used once).
const mfaPending = 60_000

// mfaWorkloads is (t), on request (-only t): a passwordless sign-in with
// a passkey (begin, a software authenticator's answer, finish), and the
// second step of a login
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

	signIn, holders, err := passkeySignIns(ctx, svc, cfg, conc)
	if err != nil {
		return nil, fmt.Errorf("t: %w", err)
	}
	// The password logins of the other accounts: a passkey's holder has a
	// second factor, and would answer 202 (a pending login) instead.
	password := loginOpSkipping(svc, "success", conc, holders)
	ref2, pk := pair(workload{"t POST /auth/login (password)", conc, password, svc}, workload{"t passkey sign-in (begin + finish)", conc, signIn, svc}, rounds)
	pk.Reference, pk.Ratio = ref2.Name, pk.PerSecond/ref2.PerSecond
	cpu = float64(pk.CPUPerRequest) / float64(ref2.CPUPerRequest)
	met = ref2.CPUPerRequest > 0 && cpu <= 0.2
	pk.Target, pk.Met = "CPU/sign-in <= 0.2 x a login's", &met
	pk.Extra = map[string]any{"cpu_ratio": cpu}
	return []result{ref, res, ref2, pk}, nil
}

// passkeySignIns registers a passkey (a software authenticator's) for
// passkeyUsers seeded accounts, straight through the relying party and the
// store, and returns the op of a passwordless sign-in (begin, the
// authenticator's answer, finish) and the accounts' names. Each account's turns are passkeyUsers
// sign-ins apart, so that its counter only moves forward.
func passkeySignIns(ctx context.Context, svc *service, cfg config.Config, conc int) (op, map[string]bool, error) {
	const passkeyUsers = 2000
	store, err := svc.open(ctx, 4, !cfg.Database.PreparedStatements, false)
	if err != nil {
		return nil, nil, err
	}
	defer store.Close()
	w := cfg.WebAuthn
	rp, err := passkeys.New(w.RPID, w.RPDisplayName, w.RPOrigins)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(os.Stderr, "bench: t: registering %d passkeys...\n", passkeyUsers)
	auths := make([]*passkeystest.Authenticator, 0, passkeyUsers)
	seen := map[string]bool{}
	for k := int64(mfaPending); len(auths) < passkeyUsers; k++ { // other accounts than the second steps'
		name := svc.loginSeed(k)
		if seen[name] {
			continue
		}
		seen[name] = true
		u, err := store.UserByUsername(ctx, name)
		if err != nil {
			return nil, nil, err
		}
		handle, err := store.WebAuthnHandle(ctx, u.ID)
		if err != nil {
			return nil, nil, err
		}
		acct := mfa.Account{Handle: handle, Name: name}
		opts, c, err := rp.BeginRegistration(acct)
		if err != nil {
			return nil, nil, err
		}
		a := passkeystest.New(w.RPOrigins[0], w.RPID)
		answer, err := a.Create(opts)
		if err != nil {
			return nil, nil, err
		}
		p, err := rp.FinishRegistration(acct, c, answer)
		if err != nil {
			return nil, nil, err
		}
		p.PublicID, p.UserID, p.Name, p.CreatedAt = uuid.Must(uuid.NewV7()), u.ID, "bench", time.Now().UTC()
		if err := store.InsertPasskey(ctx, p); err != nil {
			return nil, nil, err
		}
		auths = append(auths, a)
	}
	cl := newClient(conc)
	var n atomic.Int64
	return func(ctx context.Context) (int, error) {
		k := n.Add(1)
		a := auths[k%passkeyUsers]
		// Each sign-in from a client of its own, as a login's: from one
		// address they would measure the per-client ceremony limit (429s).
		client := clientAddr(k)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, svc.base+"/api/v1/auth/passkey/begin", nil)
		req.Header.Set("X-Forwarded-For", client)
		resp, err := cl.Do(req)
		if err != nil {
			return 0, err
		}
		opts, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return resp.StatusCode, err
		}
		answer, err := a.Get(opts)
		if err != nil {
			return 0, err
		}
		req, _ = http.NewRequestWithContext(ctx, http.MethodPost, svc.base+"/api/v1/auth/passkey/finish", strings.NewReader(`{"credential":`+string(answer)+`}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", client)
		resp, err = cl.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body) // drained for reuse; the status is the sample, as in httpOp
		resp.Body.Close()
		return resp.StatusCode, nil
	}, seen, nil
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
		var stored []mfa.StoredCode
		var pendings []session.Pending
		for i := u; i < mfaPending; i += users {
			code := benchRecoveryCode(i)
			normal, _ := mfa.NormalizeRecoveryCode(code)
			stored = append(stored, keys.SealRecoveryCode(acct.ID, normal))
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
			if err := store.ReplaceRecoveryCodes(ctx, acct.ID, stored, now); err != nil {
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

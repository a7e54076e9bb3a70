package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/platform/mfakeys"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/session"
)

// TestTOTPStorage: a setup stores what it is given (sealed bytes, never
// the secret: the row holds no plaintext), is replaced by another setup,
// enabled only over the secret its code was checked against, and then
// refuses setups.
func TestTOTPStorage(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		u := insertUser(t, s, "alice")
		keys := mfakeys.New("k", nil)
		const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
		first, second := keys.Seal(u.ID, secret), keys.Seal(u.ID, secret)
		for _, sealed := range [][]byte{first, second} {
			if ok, err := s.SetUpTOTP(ctx, u.ID, sealed, t0); err != nil || !ok {
				t.Fatalf("set up: %v %v", ok, err)
			}
		}
		var row []byte
		if err := s.DB().QueryRow(`SELECT secret FROM mfa_totp WHERE user_id = $1`, u.ID).Scan(&row); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(row, second) || bytes.Contains(row, []byte(secret)) {
			t.Fatalf("stored %x", row)
		}
		if ok, _ := s.EnableTOTP(ctx, u.ID, first, first, 7, t0); ok {
			t.Fatal("enabled over a replaced setup")
		}
		if ok, err := s.EnableTOTP(ctx, u.ID, second, second, 7, t0); err != nil || !ok {
			t.Fatalf("enable: %v %v", ok, err)
		}
		if ok, _ := s.SetUpTOTP(ctx, u.ID, first, t0); ok {
			t.Fatal("a setup replaced an enabled authenticator")
		}
		got, ok, err := s.TOTP(ctx, u.ID)
		if err != nil || !ok || !got.Enabled() || got.LastStep != 7 || !bytes.Equal(got.Sealed, second) {
			t.Fatalf("TOTP = %+v %v %v", got, ok, err)
		}
		if f, err := s.Factors(ctx, u.ID); err != nil || !f.TOTP() || !f.TOTPEnabledAt.Equal(t0) || f.RecoveryCodesLeft != 0 {
			t.Fatalf("Factors = %+v, %v", f, err)
		}
		if removed, err := s.DeleteTOTP(ctx, u.ID); err != nil || !removed {
			t.Fatalf("delete: %v %v", removed, err)
		}
		if _, ok, _ := s.TOTP(ctx, u.ID); ok {
			t.Fatal("still there")
		}
	})
}

// TestSecondFactorUsesAreAtomic: of many concurrent uses of one TOTP step,
// one recovery code, or a pending login's attempts, exactly the allowed
// number pass.
func TestSecondFactorUsesAreAtomic(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		u := insertUser(t, s, "alice")
		sealed := mfakeys.New("k", nil).Seal(u.ID, "JBSWY3DPEHPK3PXP")
		s.SetUpTOTP(ctx, u.ID, sealed, t0)
		if ok, err := s.EnableTOTP(ctx, u.ID, sealed, sealed, 100, t0); !ok || err != nil {
			t.Fatal(ok, err)
		}
		digest := bytes.Repeat([]byte{7}, 32)
		if err := s.ReplaceRecoveryCodes(ctx, u.ID, []mfa.StoredCode{{Digest: digest}, {Digest: bytes.Repeat([]byte{8}, 32)}}, t0); err != nil {
			t.Fatal(err)
		}
		_, id := session.NewPendingSecret()
		if err := s.InsertPendingLogin(ctx, session.Pending{ID: id, UserID: u.ID, VerifiedHash: u.PasswordHash, CreatedAt: t0, ExpiresAt: t0.Add(5 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
		const n = 12
		var steps, codes, attempts, ended atomic.Int32
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				if ok, err := inTx(ctx, s, func(ctx context.Context) (bool, error) { return s.AcceptTOTPStep(ctx, u.ID, 101, nil) }); err != nil {
					t.Error(err)
				} else if ok {
					steps.Add(1)
				}
				if ok, err := inTx(ctx, s, func(ctx context.Context) (bool, error) {
					return s.UseRecoveryCode(ctx, u.ID, [][]byte{bytes.Repeat([]byte{9}, 32), digest})
				}); err != nil {
					t.Error(err)
				} else if ok {
					codes.Add(1)
				}
				_, err := s.CountPendingAttempt(ctx, id, t0, mfa.MaxCodeAttempts)
				switch {
				case err == nil:
					attempts.Add(1)
				case !errors.Is(err, session.ErrNotFound):
					t.Error(err)
				}
				if ok, err := s.DeletePendingLogin(ctx, id); err != nil {
					t.Error(err)
				} else if ok {
					ended.Add(1)
				}
			})
		}
		wg.Wait()
		if steps.Load() != 1 || codes.Load() != 1 || ended.Load() != 1 || attempts.Load() > mfa.MaxCodeAttempts || attempts.Load() < 1 {
			t.Fatalf("steps %d, codes %d, attempts %d, ended %d", steps.Load(), codes.Load(), attempts.Load(), ended.Load())
		}
		if ok, _ := s.AcceptTOTPStep(ctx, u.ID, 100, nil); ok {
			t.Fatal("an earlier step was accepted")
		}
		if f, _ := s.Factors(ctx, u.ID); f.RecoveryCodesLeft != 1 {
			t.Fatalf("%d codes left, want 1", f.RecoveryCodesLeft)
		}
	})
}

// inTx runs f in a transaction and returns its answer.
func inTx(ctx context.Context, s *sqlstore.Store, f func(ctx context.Context) (bool, error)) (bool, error) {
	var ok bool
	err := s.WithinTx(ctx, func(ctx context.Context) error {
		var err error
		ok, err = f(ctx)
		return err
	})
	return ok, err
}

// sealedCodes stores codes as u's set, sealed under keys.
func sealedCodes(t *testing.T, s *sqlstore.Store, keys *mfakeys.Keys, u uuid.UUID, codes ...string) {
	t.Helper()
	stored := make([]mfa.StoredCode, len(codes))
	for n, c := range codes {
		stored[n] = keys.SealRecoveryCode(u, c)
	}
	if err := s.ReplaceRecoveryCodes(context.Background(), u, stored, t0); err != nil {
		t.Fatal(err)
	}
}

// enabledTOTP stores an enabled authenticator for u sealed under keys.
func enabledTOTP(t *testing.T, s *sqlstore.Store, keys *mfakeys.Keys, u uuid.UUID) []byte {
	t.Helper()
	sealed := keys.Seal(u, "JBSWY3DPEHPK3PXP")
	if ok, err := s.SetUpTOTP(context.Background(), u, sealed, t0); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if ok, err := s.EnableTOTP(context.Background(), u, sealed, sealed, 1, t0); err != nil || !ok {
		t.Fatal(ok, err)
	}
	return sealed
}

// TestRekey: secrets and codes sealed under a previous key move, in
// batches, to the current key, one key at a time; a row that does not open
// stays (and the walk goes past it); codes stored before seals are counted,
// not moved; a second run moves nothing; the key ids in use and the rows of
// each are read by index.
func TestRekey(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		old, other := mfakeys.New("old key", nil), mfakeys.New("other key", nil)
		rotated, current := mfakeys.New("new key", []string{"old key", "other key"}), mfakeys.New("new key", nil)
		oldID, otherID, newID := old.IDs()[0], other.IDs()[0], current.IDs()[0]

		var users []uuid.UUID
		for n := range 5 {
			u := insertUser(t, s, fmt.Sprintf("user%d", n)).ID
			users = append(users, u)
			enabledTOTP(t, s, old, u)
			sealedCodes(t, s, old, u, "aaaaaaaaa"+fmt.Sprint(n+2), "bbbbbbbbb"+fmt.Sprint(n+2))
		}
		// A TOTP secret and a code under the current key already, one each
		// under a third key, and a TOTP secret sealed for someone else (it
		// does not open for its row's user).
		fresh := insertUser(t, s, "fresh").ID
		enabledTOTP(t, s, current, fresh)
		sealedCodes(t, s, current, fresh, "ccccccccc2")
		third := insertUser(t, s, "third").ID
		enabledTOTP(t, s, other, third)
		sealedCodes(t, s, other, third, "ddddddddd2")
		moved := insertUser(t, s, "moved").ID
		if ok, err := s.SetUpTOTP(ctx, moved, old.Seal(users[0], "JBSWY3DPEHPK3PXP"), t0); err != nil || !ok {
			t.Fatal(ok, err)
		}
		// Codes stored before seals existed: a digest alone.
		legacy := insertUser(t, s, "legacy").ID
		if err := s.ReplaceRecoveryCodes(ctx, legacy, []mfa.StoredCode{{Digest: bytes.Repeat([]byte{1}, 32)}, {Digest: bytes.Repeat([]byte{2}, 32)}}, t0); err != nil {
			t.Fatal(err)
		}

		ids, err := s.MFAKeyIDs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := keyIDSet(ids), keyIDSet([][]byte{oldID[:], otherID[:], newID[:]}); got != want {
			t.Fatalf("key ids %s, want %s", got, want)
		}
		rowsOf := func(id mfakeys.KeyID) sqlstore.KeyRows {
			t.Helper()
			r, err := s.MFAKeyRows(ctx, id[:])
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		if r := rowsOf(oldID); r != (sqlstore.KeyRows{Secrets: 6, Codes: 10}) {
			t.Fatalf("under the old key before: %+v", r)
		}
		if codes, users, err := s.UnsealedRecoveryCodes(ctx); err != nil || codes != 2 || users != 1 {
			t.Fatalf("unsealed codes %d of %d users, %v", codes, users, err)
		}

		secrets, err := s.ResealTOTPSecrets(ctx, oldID[:], 2, rotated.Reseal)
		if err != nil || secrets != (sqlstore.Resealed{Moved: 5, Failed: 1}) {
			t.Fatalf("re-sealed secrets %+v, %v", secrets, err)
		}
		codes, err := s.ResealRecoveryCodes(ctx, oldID[:], 3, rotated.ResealRecoveryCode)
		if err != nil || codes != (sqlstore.Resealed{Moved: 10}) {
			t.Fatalf("re-sealed codes %+v, %v", codes, err)
		}
		if r := rowsOf(oldID); r != (sqlstore.KeyRows{Secrets: 1}) {
			t.Fatalf("under the old key after: %+v, want the secret that does not open", r)
		}
		if r := rowsOf(newID); r != (sqlstore.KeyRows{Secrets: 6, Codes: 11}) {
			t.Fatalf("under the new key after: %+v", r)
		}
		if r := rowsOf(otherID); r != (sqlstore.KeyRows{Secrets: 1, Codes: 1}) {
			t.Fatalf("another previous key's rows moved too: %+v", r)
		}

		// What moved works with the current key alone.
		for n, u := range users {
			got, ok, err := s.TOTP(ctx, u)
			if err != nil || !ok || !got.Enabled() || got.LastStep != 1 {
				t.Fatalf("TOTP = %+v %v %v", got, ok, err)
			}
			if secret, stale, err := current.Open(u, got.Sealed); err != nil || stale || secret != "JBSWY3DPEHPK3PXP" {
				t.Fatalf("the moved secret, current key alone: %q %v %v", secret, stale, err)
			}
			if ok, err := s.UseRecoveryCode(ctx, u, current.RecoveryDigests("aaaaaaaaa"+fmt.Sprint(n+2))); err != nil || !ok {
				t.Fatalf("a moved code, current key alone: %v %v", ok, err)
			}
			if ok, _ := s.UseRecoveryCode(ctx, u, rotated.RecoveryDigests("aaaaaaaaa"+fmt.Sprint(n+2))); ok {
				t.Fatal("a code was used twice")
			}
		}
		if f, err := s.Factors(ctx, users[0]); err != nil || f.RecoveryCodesLeft != 1 {
			t.Fatalf("factors %+v %v: a code moved is still one code", f, err)
		}

		again, err := s.ResealTOTPSecrets(ctx, oldID[:], 2, rotated.Reseal)
		if err != nil || again.Moved != 0 {
			t.Fatalf("a second run moved %+v, %v", again, err)
		}
		if again, err := s.ResealRecoveryCodes(ctx, oldID[:], 3, rotated.ResealRecoveryCode); err != nil || again.Moved != 0 {
			t.Fatalf("a second run moved %+v codes, %v", again, err)
		}
		if codes, users, err := s.UnsealedRecoveryCodes(ctx); err != nil || codes != 2 || users != 1 {
			t.Fatalf("unsealed codes %d of %d users after, %v", codes, users, err)
		}
	})
}

// keyIDSet is a set of key ids, as one comparable string.
func keyIDSet(ids [][]byte) string {
	hexes := make([]string, len(ids))
	for n, id := range ids {
		hexes[n] = fmt.Sprintf("%x", id)
	}
	slices.Sort(hexes)
	return strings.Join(hexes, " ")
}

// TestUseDuringRekey: a code used while a rekey is moving it (the move
// written, not committed) is used once, under its new digest: the use
// waits for the move instead of missing the code.
func TestUseDuringRekey(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		old, rotated := mfakeys.New("old key", nil), mfakeys.New("new key", []string{"old key"})
		u := insertUser(t, s, "alice").ID
		sealedCodes(t, s, old, u, "aaaaaaaaa2", "bbbbbbbbb2")
		oldID := old.IDs()[0]

		var (
			resealed = make(chan struct{}) // the first code's move is written
			release  = make(chan struct{})
			calls    int
		)
		done := make(chan error, 1)
		go func() {
			_, err := s.ResealRecoveryCodes(ctx, oldID[:], 2, func(id uuid.UUID, sealed []byte) (mfa.StoredCode, error) {
				calls++
				if calls == 2 { // the first code's UPDATE ran, in the batch's transaction
					close(resealed)
					<-release
				}
				return rotated.ResealRecoveryCode(id, sealed)
			})
			done <- err
		}()
		<-resealed
		used := make(chan bool, 1)
		go func() {
			ok, err := inTx(ctx, s, func(ctx context.Context) (bool, error) {
				return s.UseRecoveryCode(ctx, u, rotated.RecoveryDigests("aaaaaaaaa2"))
			})
			if err != nil {
				t.Error(err)
			}
			used <- ok
		}()
		time.Sleep(200 * time.Millisecond) // the use reaches the moving row and waits
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if !<-used {
			t.Fatal("the code was missed while it moved")
		}
		if f, _ := s.Factors(ctx, u); f.RecoveryCodesLeft != 1 {
			t.Fatalf("%d codes left, want 1", f.RecoveryCodesLeft)
		}
	})
}

// keyedSQL fills the second factors' tables with rows sealed under two
// keys (ids 0x01.. and 0x02..) and a few unsealed codes: $1 is the count.
var keyedSQL = map[string][]string{
	"postgres": {
		`INSERT INTO mfa_totp (user_id, secret, created_at, enabled_at)
			SELECT id, CASE WHEN random() < 0.9 THEN '\x0101010101010101' ELSE '\x0202020202020202' END::bytea || sha256(id::text::bytea), $2, $2 FROM users LIMIT $1`,
		`INSERT INTO mfa_recovery_codes (user_id, digest, sealed, created_at)
			SELECT id, sha256((id::text || g)::bytea), CASE WHEN g = 0 THEN NULL WHEN random() < 0.9 THEN '\x0101010101010101' ELSE '\x0202020202020202' END::bytea || sha256(id::text::bytea), $2
			FROM (SELECT id FROM users LIMIT $1 / 10) u CROSS JOIN generate_series(0, 9) g`,
	},
	"sqlite": {
		`INSERT INTO mfa_totp (user_id, secret, created_at, enabled_at)
			SELECT id, unhex(CASE WHEN abs(random()) % 10 < 9 THEN '0101010101010101' ELSE '0202020202020202' END || hex(randomblob(32))), $2, $2 FROM users LIMIT $1`,
		`WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < 9)
			INSERT INTO mfa_recovery_codes (user_id, digest, sealed, created_at)
			SELECT id, randomblob(32), unhex(CASE WHEN i = 0 THEN NULL WHEN abs(random()) % 10 < 9 THEN '0101010101010101' ELSE '0202020202020202' END || hex(randomblob(32))), $2
			FROM (SELECT id FROM users LIMIT $1 / 10) CROSS JOIN g`,
	},
}

// TestMFAKeyQueryPlans: with 20,000 TOTP secrets and 20,000 recovery
// codes, the queries by key id (the start-up check's, a rekey's) read
// through the key id indexes on both engines: no scan of a table, no
// sort. The key ids are found by skipping through an index (a probe per
// key).
func TestMFAKeyQueryPlans(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		bulk(t, s, "users", 20_000, "P", stamp(t0))
		for _, q := range keyedSQL[s.Engine()] {
			if _, err := s.DB().Exec(q, 20_000, stamp(t0)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.DB().Exec(`ANALYZE`); err != nil {
			t.Fatal(err)
		}
		for _, q := range sqlstore.MFAKeyQueries(bytes.Repeat([]byte{2}, 8), uuid.Must(uuid.NewV7())) {
			plan := explain(t, s, q.SQL, q.Args)
			for _, line := range strings.Split(plan, "\n") {
				l := strings.TrimLeft(line, " ->")
				// SQLite counts the distinct users of the unsealed codes
				// (only those rows) in a temporary tree; "SCAN ids" and
				// "CONSTANT ROW" are the key ids' own list.
				bad := strings.HasPrefix(l, "Seq Scan") || strings.HasPrefix(l, "Sort") ||
					strings.Contains(l, "TEMP B-TREE") && l != "USE TEMP B-TREE FOR count(DISTINCT)" ||
					strings.HasPrefix(l, "SCAN ") && !strings.Contains(l, " USING ") && l != "SCAN ids" && l != "SCAN CONSTANT ROW"
				if bad {
					t.Errorf("%s\nreads without an index (%q):\n%s", q.SQL, l, plan)
				}
			}
			if !strings.Contains(plan, "_key_id_idx") && !strings.HasPrefix(q.SQL, "UPDATE") {
				t.Errorf("%s\ndoes not use a key id index:\n%s", q.SQL, plan)
			}
		}
	})
}

// TestRekeyLeavesNewerSecrets: a TOTP secret replaced while a rekey holds
// its batch (a new setup, or a login sealing it again) is the one that
// stays: the rekey writes only over the secret it read.
func TestRekeyLeavesNewerSecrets(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		if s.Engine() == "sqlite" {
			t.Skip("SQLite has one writer: a batch's transaction holds the database from its start, so nothing is written meanwhile")
		}
		ctx := context.Background()
		old, rotated := mfakeys.New("old key", nil), mfakeys.New("new key", []string{"old key"})
		u := insertUser(t, s, "alice").ID
		if ok, err := s.SetUpTOTP(ctx, u, old.Seal(u, "OLDSECRET"), t0); err != nil || !ok {
			t.Fatal(ok, err)
		}
		newer := rotated.Seal(u, "NEWSECRET")
		oldID := old.IDs()[0]
		done, err := s.ResealTOTPSecrets(ctx, oldID[:], 10, func(id uuid.UUID, sealed []byte) ([]byte, error) {
			if ok, err := s.SetUpTOTP(ctx, u, newer, t0); err != nil || !ok { // another connection, committed
				t.Fatal(ok, err)
			}
			return rotated.Reseal(id, sealed)
		})
		if err != nil || done.Moved != 0 {
			t.Fatalf("rekey %+v, %v: it wrote over a newer secret", done, err)
		}
		if got, _, _ := s.TOTP(ctx, u); !bytes.Equal(got.Sealed, newer) {
			t.Fatal("the newer secret was replaced by the old one sealed again")
		}
	})
}

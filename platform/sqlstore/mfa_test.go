package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
		if err := s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{digest, bytes.Repeat([]byte{8}, 32)}, t0); err != nil {
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

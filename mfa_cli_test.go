package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/platform/config"
	"github.com/cleanslice/cleanslice/platform/mfakeys"
	"github.com/cleanslice/cleanslice/shared/user"
)

// TestMFARekey: second factors sealed under a key that became a previous
// one move to the current key with `cleanslice mfa rekey`, which reports
// per key what it moved and what still depends on it; then the old key
// goes, and every factor still logs in. While a key that stored factors
// need is not configured, serve and the CLI commands that open the store
// refuse to start, naming the key id and its rows.
func TestMFARekey(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine, dbURL string) {
		ctx := context.Background()
		oldKey, newKey := strings.Repeat("o", 32), strings.Repeat("n", 32)
		oldID, newID := mfakeys.New(oldKey, nil).IDs()[0].String(), mfakeys.New(newKey, nil).IDs()[0].String()
		before := newTestAppOn(t, dbURL, map[string]string{"mfa.encryption_key": oldKey})
		alice, bob := before.enroll(t, "alice", user.RoleUser), before.enroll(t, "bobby", user.RoleUser)
		// A code stored before codes were sealed: its digest alone.
		legacy := mfakeys.New(oldKey, nil).RecoveryDigests("k7m2qx9rtz")[0]
		if _, err := before.store.DB().Exec(`INSERT INTO mfa_recovery_codes (user_id, digest, created_at) VALUES ($1, $2, '2026-01-01T00:00:00.000000Z')`,
			bob.user.ID, legacy); err != nil {
			t.Fatal(err)
		}

		configWith := func(keys ...string) string {
			s := map[string]string{"database.url": dbURL, "mfa.encryption_key": keys[0]}
			if len(keys) > 1 {
				s["mfa.previous_encryption_keys"] = keys[1]
			}
			for k, v := range cheapHashing {
				s[k] = v
			}
			return writeConfig(t, s)
		}
		cli := func(path string, args ...string) (string, error) {
			var out bytes.Buffer
			err := run(ctx, append([]string{"--config", path}, args...), &out, &bytes.Buffer{})
			return out.String(), err
		}
		onlyNew, rotated := configWith(newKey), configWith(newKey, oldKey)

		// The old key dropped first: start-up refuses, naming it and its
		// rows; rekey cannot move them, says so and fails.
		refused := func(what string, err error) {
			t.Helper()
			if err == nil || !strings.Contains(err.Error(), oldID) || !strings.Contains(err.Error(), "2 TOTP secrets and 20 recovery codes") {
				t.Fatalf("%s with the old key gone: %v; want a refusal naming %s and its rows", what, err, oldID)
			}
		}
		_, err := cli(onlyNew, "users", "hashes")
		refused("users hashes", err)
		cfg, err := config.Load(onlyNew, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		refused("serve", serve(ctx, cfg, &bytes.Buffer{}))
		out, err := cli(onlyNew, "mfa", "rekey")
		refused("mfa rekey", err)
		if row := reportRow(out, oldID); len(row) != 8 || row[1] != "NOT" || strings.Join(row[3:], " ") != "0 0 2 20 0" {
			t.Fatalf("the report of a key not configured: %q\n%s", row, out)
		}

		// Rotated: the old key is a previous one; rekey moves everything
		// but the unsealed code, and says the old key can go.
		out, err = cli(rotated, "mfa", "rekey")
		if err != nil {
			t.Fatalf("mfa rekey: %v\n%s", err, out)
		}
		if row := reportRow(out, oldID); strings.Join(row, " ") != oldID+" mfa.previous_encryption_keys[0] 2 20 0 0 0" {
			t.Fatalf("old key's row %q, want 2 secrets and 20 codes moved, none left:\n%s", row, out)
		}
		if row := reportRow(out, newID); len(row) < 2 || row[1] != "mfa.encryption_key" {
			t.Fatalf("current key's row %q:\n%s", row, out)
		}
		if row := reportRow(out, "(none)"); len(row) < 2 || row[len(row)-2] != "1" {
			t.Fatalf("unsealed codes' row %q, want 1:\n%s", row, out)
		}
		if !strings.Contains(out, "mfa.previous_encryption_keys[0] ("+oldID+"): nothing sealed depends on it; it can be dropped once the codes stored before seals do not matter.") ||
			!strings.Contains(out, "1 recovery codes of 1 users were stored before codes were sealed") {
			t.Fatalf("the report does not say the old key can go, or what it cannot move:\n%s", out)
		}
		// The unsealed code works while the old key is configured; once
		// it is used, a second run (which moves nothing) says the old key
		// can go, without a doubt.
		during := newTestAppOn(t, dbURL, map[string]string{"mfa.encryption_key": newKey, "mfa.previous_encryption_keys": oldKey})
		expect(t, "the unsealed code", during.pending(t, "bobby").do(t, "POST", "/api/v1/auth/login/mfa", `{"recovery_code":"k7m2q-x9rtz"}`), 200, "")
		out, err = cli(rotated, "mfa", "rekey")
		if row := reportRow(out, oldID); err != nil || len(row) != 7 || strings.Join(row[2:], " ") != "0 0 0 0 0" {
			t.Fatalf("a second run: %q, %v\n%s", row, err, out)
		}
		if !strings.Contains(out, "mfa.previous_encryption_keys[0] ("+oldID+"): nothing depends on it; it can be dropped.") || reportRow(out, "(none)") != nil {
			t.Fatalf("the second report does not say the old key can go:\n%s", out)
		}

		// The old key dropped: start-up passes, and the factors work.
		if _, err := cli(onlyNew, "users", "hashes"); err != nil {
			t.Fatalf("start-up after the rekey: %v", err)
		}
		app := newTestAppOn(t, dbURL, map[string]string{"mfa.encryption_key": newKey})
		app.clock.Advance(time.Minute)
		expect(t, "a TOTP code, the old key gone", app.pending(t, "alice").do(t, "POST", "/api/v1/auth/login/mfa", app.codeBody(t, alice.secret)), 200, "")
		for _, e := range []enrolled{alice, bob} {
			expect(t, "a recovery code, the old key gone", app.pending(t, e.user.Username).do(t, "POST", "/api/v1/auth/login/mfa", `{"recovery_code":"`+e.codes[0]+`"}`), 200, "")
		}
		if n := app.count(t, "mfa_recovery_codes"); n != 18 {
			t.Fatalf("%d recovery codes left, want 18", n)
		}

		var ue usageError
		if _, err := cli(onlyNew, "mfa"); !errors.As(err, &ue) {
			t.Fatalf("mfa without a command: %v", err)
		}
	})
}

// reportRow is the row of the rekey report that begins with first, split
// into fields.
func reportRow(report, first string) []string {
	for _, line := range strings.Split(report, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == first {
			return f
		}
	}
	return nil
}

// TestMFARekeyFailsOnWhatDoesNotOpen: a row under a previous key that
// does not open with it (copied from another user's row) stays, is
// counted as left, and makes the command fail, naming the key.
func TestMFARekeyFailsOnWhatDoesNotOpen(t *testing.T) {
	oldKey, newKey := strings.Repeat("o", 32), strings.Repeat("n", 32)
	app := newTestApp(t, "sqlite", map[string]string{"mfa.encryption_key": oldKey})
	alice, bob := app.seed(t, "alice", user.RoleUser), app.seed(t, "bobby", user.RoleUser)
	if ok, err := app.store.SetUpTOTP(context.Background(), alice.ID, mfakeys.New(oldKey, nil).Seal(bob.ID, "JBSWY3DPEHPK3PXP"), time.Now()); err != nil || !ok {
		t.Fatal(ok, err)
	}
	settings := map[string]string{"database.url": app.cfg.Database.URL, "mfa.encryption_key": newKey, "mfa.previous_encryption_keys": oldKey}
	var out bytes.Buffer
	err := run(context.Background(), []string{"--config", writeConfig(t, settings), "mfa", "rekey"}, &out, &bytes.Buffer{})
	oldID := mfakeys.New(oldKey, nil).IDs()[0].String()
	if err == nil || !strings.Contains(err.Error(), "1 rows under mfa.previous_encryption_keys[0] ("+oldID+") do not open") {
		t.Fatalf("rekey of a row that does not open: %v\n%s", err, out.String())
	}
	if row := reportRow(out.String(), oldID); len(row) != 7 || strings.Join(row[2:], " ") != "0 0 1 0 0" || strings.Contains(out.String(), "dropped") {
		t.Fatalf("report %q:\n%s", row, out.String())
	}
}

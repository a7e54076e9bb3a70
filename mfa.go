package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/cleanslice/cleanslice/platform/config"
	"github.com/cleanslice/cleanslice/platform/mfakeys"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
)

// rekeyBatch is how many rows one transaction of `mfa rekey` moves: small
// enough that each holds its row locks briefly, and that no table is ever
// read into memory whole.
const rekeyBatch = 1000

// mfaCommand runs `mfa rekey`.
func mfaCommand(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	if len(args) != 1 || args[0] != "rekey" {
		return usageError{"mfa needs rekey"}
	}
	return rekeyCommand(ctx, cfg, stdout)
}

// rekeyCommand seals every TOTP secret and recovery code stored under a
// previous mfa key again under the current one, key by key, in batches
// (each its own transaction: the service may keep serving), and prints
// what it moved and what still depends on each key: a previous key on
// which nothing is left can be dropped. It opens the store without the
// start-up check, which refuses exactly when this report is needed, and
// fails, after the report, when rows need a key that is not configured
// or did not open. Running it again moves nothing more.
func rekeyCommand(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	store, err := openStore(ctx, cfg.Database, nil)
	if err != nil {
		return err
	}
	defer store.Close()
	keys := mfaKeys(cfg.MFA)
	reports, err := rekey(ctx, store, keys)
	if err != nil {
		return fmt.Errorf("mfa rekey: %w", err)
	}
	unsealed, users, err := store.UnsealedRecoveryCodes(ctx)
	if err != nil {
		return fmt.Errorf("mfa rekey: %w", err)
	}
	if problems := writeRekeyReport(stdout, keys, reports, unsealed, users); len(problems) > 0 {
		return fmt.Errorf("mfa rekey: %s", strings.Join(problems, "; "))
	}
	return nil
}

// keyReport is what a rekey did to one key's rows, and what is left.
type keyReport struct {
	id             []byte // the key id, as stored
	secrets, codes sqlstore.Resealed
	left           sqlstore.KeyRows
}

// rekey moves the rows of each previous key to the current key, and
// counts what is left under them and under every other key in use but
// the current one: the previous keys in the configuration's order, then
// the keys found.
func rekey(ctx context.Context, store *sqlstore.Store, keys *mfakeys.Keys) ([]*keyReport, error) {
	var reports []*keyReport
	current := keys.IDs()[0]
	seen := map[string]bool{string(current[:]): true}
	add := func(id []byte) *keyReport {
		if seen[string(id)] {
			return nil
		}
		seen[string(id)] = true
		r := &keyReport{id: id}
		reports = append(reports, r)
		return r
	}
	var err error
	for _, id := range keys.IDs()[1:] {
		r := add(id[:])
		if r == nil {
			continue
		}
		if r.secrets, err = store.ResealTOTPSecrets(ctx, r.id, rekeyBatch, keys.Reseal); err != nil {
			return nil, fmt.Errorf("totp secrets under %s: %w", id, err)
		}
		if r.codes, err = store.ResealRecoveryCodes(ctx, r.id, rekeyBatch, keys.ResealRecoveryCode); err != nil {
			return nil, fmt.Errorf("recovery codes under %s: %w", id, err)
		}
	}
	inUse, err := store.MFAKeyIDs(ctx)
	if err != nil {
		return nil, err
	}
	for _, id := range inUse {
		add(id)
	}
	for _, r := range reports {
		if r.left, err = store.MFAKeyRows(ctx, r.id); err != nil {
			return nil, err
		}
	}
	return reports, nil
}

// writeRekeyReport prints the table of a rekey, a verdict on each key
// and the codes stored before seals (unsealed, of users), and returns
// what could not be moved.
func writeRekeyReport(w io.Writer, keys *mfakeys.Keys, reports []*keyReport, unsealed, users int) (problems []string) {
	names, current := keyNames(keys), keys.IDs()[0]
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY ID\tKEY\tMOVED SECRETS\tMOVED CODES\tLEFT SECRETS\tLEFT CODES\tLEFT API KEYS")
	fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t-\n", current, names[string(current[:])])
	for _, r := range reports {
		name := cmp.Or(names[string(r.id)], "NOT CONFIGURED")
		fmt.Fprintf(tw, "%x\t%s\t%d\t%d\t%d\t%d\t%d\n", r.id, name, r.secrets.Moved, r.codes.Moved, r.left.Secrets, r.left.Codes, r.left.APIKeys)
	}
	if unsealed > 0 {
		fmt.Fprintf(tw, "(none)\tcodes stored before seals\t-\t-\t-\t%d\t-\n", unsealed)
	}
	tw.Flush()
	for _, r := range reports {
		name, failed := names[string(r.id)], r.secrets.Failed+r.codes.Failed
		switch {
		case name == "":
			problems = append(problems, fmt.Sprintf("key %x is not configured, and %s need it", r.id, rowsNeeding(r.left)))
		case r.left == (sqlstore.KeyRows{}) && unsealed == 0:
			fmt.Fprintf(w, "%s (%x): nothing depends on it; it can be dropped.\n", name, r.id)
		case r.left == (sqlstore.KeyRows{}):
			fmt.Fprintf(w, "%s (%x): nothing sealed depends on it; it can be dropped once the codes stored before seals do not matter.\n", name, r.id)
		case r.left.Secrets == 0 && r.left.Codes == 0 && failed == 0:
			// API keys alone: only their holders have the secrets.
			fmt.Fprintf(w, "%s (%x): %d API keys still need it: no rekey can move them (their secrets are not stored); each moves at its next use.\n"+
				"Drop the key once none is left (at the latest api_keys.max_ttl after it stopped being current), or revoke those keys first.\n",
				name, r.id, r.left.APIKeys)
		case failed > 0:
			problems = append(problems, fmt.Sprintf("%d rows under %s (%x) do not open with it (altered, or copied from another user's row)", failed, name, r.id))
		default:
			fmt.Fprintf(w, "%s (%x): %s were sealed under it while this ran (does a replica still have it as mfa.encryption_key?); run mfa rekey again.\n",
				name, r.id, rowsNeeding(r.left))
		}
	}
	if unsealed > 0 {
		fmt.Fprintf(w, "%d recovery codes of %d users were stored before codes were sealed: no key can move them, and which key made them\n"+
			"is not recorded (the one current when they were made); they stop working when it is dropped. Those users keep their other\n"+
			"factors, and can make new codes.\n", unsealed, users)
	}
	return problems
}

// checkMFAKeys refuses, naming each key id and its rows, when stored TOTP
// secrets, recovery codes or API keys need a key that is not configured:
// left alone, they would fail at their users' next login (or request). It costs a few index probes
// per key id in use (and a count of the rows of a missing key).
func checkMFAKeys(ctx context.Context, store *sqlstore.Store, keys *mfakeys.Keys) error {
	ids, err := store.MFAKeyIDs(ctx)
	if err != nil {
		return fmt.Errorf("check mfa keys: %w", err)
	}
	names := keyNames(keys)
	var missing []string
	for _, id := range ids {
		if names[string(id)] != "" {
			continue
		}
		rows, err := store.MFAKeyRows(ctx, id)
		if err != nil {
			return fmt.Errorf("check mfa keys: %w", err)
		}
		missing = append(missing, fmt.Sprintf("key %x (%s)", id, rowsNeeding(rows)))
	}
	if len(missing) == 0 {
		return nil
	}
	return errors.New("stored second factors need mfa keys that are not configured: " + strings.Join(missing, ", ") +
		"; configure each again (in mfa.previous_encryption_keys), run `cleanslice mfa rekey`, and drop it when the report says nothing" +
		" depends on it (see docs/operations.md, The MFA key)")
}

// rowsNeeding says what rows need a key.
func rowsNeeding(r sqlstore.KeyRows) string {
	s := fmt.Sprintf("%d TOTP secrets and %d recovery codes", r.Secrets, r.Codes)
	if r.APIKeys > 0 {
		s += fmt.Sprintf(", and %d API keys", r.APIKeys)
	}
	return s
}

// mfaKeys are the configured mfa key generations.
func mfaKeys(cfg config.MFA) *mfakeys.Keys {
	return mfakeys.New(cfg.EncryptionKey, cfg.PreviousEncryptionKeys)
}

// keyNames names each configured key, by its id as stored, as the
// configuration does (the first place a key listed twice has).
func keyNames(keys *mfakeys.Keys) map[string]string {
	names := map[string]string{}
	for n, id := range keys.IDs() {
		if names[string(id[:])] != "" {
			continue
		}
		names[string(id[:])] = fmt.Sprintf("mfa.previous_encryption_keys[%d]", n-1)
		if n == 0 {
			names[string(id[:])] = "mfa.encryption_key (current)"
		}
	}
	return names
}

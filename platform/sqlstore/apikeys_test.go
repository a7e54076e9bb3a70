package sqlstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/platform/mfakeys"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/user"
)

// issueKey stores a new key of u, valid for lifetime from at, and returns
// it as stored and as the client holds it.
func issueKey(t *testing.T, s *sqlstore.Store, keys *mfakeys.Keys, u user.User, name string, at time.Time, lifetime time.Duration) (apikey.Key, string) {
	t.Helper()
	k, key := apikey.Issue(keys.HashAPIKey, u.ID, name, apikey.ScopeRead, at, lifetime)
	if ok, err := s.InsertAPIKey(context.Background(), k); err != nil || !ok {
		t.Fatalf("insert key %s: %v, %v", name, ok, err)
	}
	return k, key
}

// TestAPIKeys: a key is found with its user by its id, listed and counted
// while live, revoked by its user alone (another user's is not found),
// revoked with all of its user's, and goes with its user.
func TestAPIKeys(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		keys := mfakeys.New("the mfa key", nil)
		alice, bob := insertUser(t, s, "alice"), insertUser(t, s, "bobby")
		k1, key1 := issueKey(t, s, keys, alice, "ci", t0, time.Hour)
		k2, _ := issueKey(t, s, keys, alice, "deploy", t0.Add(time.Second), time.Hour)
		issueKey(t, s, keys, alice, "old", t0.Add(-2*time.Hour), time.Hour) // expired at t0
		kb, _ := issueKey(t, s, keys, bob, "bob's", t0, time.Hour)

		got, u, err := s.APIKeyWithUser(ctx, k1.ID)
		if err != nil || got.ID != k1.ID || got.UserID != alice.ID || got.Scope != apikey.ScopeRead || !got.ExpiresAt.Equal(k1.ExpiresAt) ||
			!got.LastUsedAt.IsZero() || !bytes.Equal(got.Hash, k1.Hash) || u.Username != "alice" || u.Role != user.RoleUser || !u.IsActive || u.PasswordHash != alice.PasswordHash {
			t.Fatalf("APIKeyWithUser = %+v, %+v, %v", got, u, err)
		}
		id, secret, _ := apikey.Parse(key1)
		if ok, _ := keys.MatchAPIKey(id, secret, got.Hash); !ok {
			t.Fatal("the stored hash does not match the key")
		}
		// The user's second factor comes with the key (a user who must
		// enroll one costs no query of its own).
		if _, err := s.DB().Exec(`UPDATE users SET second_factor = true WHERE id = $1`, alice.ID); err != nil {
			t.Fatal(err)
		}
		if _, u, err := s.APIKeyWithUser(ctx, k1.ID); err != nil || !u.SecondFactor {
			t.Fatalf("the user's second factor: %+v, %v", u, err)
		}
		if _, _, err := s.APIKeyWithUser(ctx, uuid.Must(uuid.NewV4())); !errors.Is(err, apikey.ErrNotFound) {
			t.Fatalf("an unknown key: %v", err)
		}

		list, err := s.UserAPIKeys(ctx, alice.ID, t0)
		if err != nil || len(list) != 2 || list[0].ID != k2.ID || list[1].ID != k1.ID || list[1].Name != "ci" || list[0].Hash != nil {
			t.Fatalf("UserAPIKeys = %+v, %v; want deploy then ci, no hashes", list, err)
		}
		if n, err := s.LiveAPIKeys(ctx, alice.ID, t0); err != nil || n != 2 {
			t.Fatalf("LiveAPIKeys = %d, %v", n, err)
		}

		if err := s.DeleteUserAPIKey(ctx, alice.ID, kb.ID); !errors.Is(err, apikey.ErrNotFound) {
			t.Fatalf("alice revoking bob's key: %v", err)
		}
		if err := s.DeleteUserAPIKey(ctx, alice.ID, k2.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteUserAPIKey(ctx, alice.ID, k2.ID); !errors.Is(err, apikey.ErrNotFound) {
			t.Fatalf("revoked twice: %v", err)
		}
		if n, err := s.DeleteUserAPIKeys(ctx, alice.ID); err != nil || n != 2 {
			t.Fatalf("DeleteUserAPIKeys = %d, %v; want ci and the expired one", n, err)
		}
		if _, _, err := s.APIKeyWithUser(ctx, kb.ID); err != nil {
			t.Fatalf("bob's key went with alice's: %v", err)
		}
		if err := s.DeleteUser(ctx, bob.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.APIKeyWithUser(ctx, kb.ID); !errors.Is(err, apikey.ErrNotFound) {
			t.Fatalf("a deleted user's key: %v", err)
		}
	})
}

// TestAPIKeyOfInactiveUser: no key is stored for a user who is inactive
// (an inactivation that won the race with the creation).
func TestAPIKeyOfInactiveUser(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		u := insertUser(t, s, "alice")
		if err := s.SetUserActive(context.Background(), u.ID, false, t0); err != nil {
			t.Fatal(err)
		}
		k, _ := apikey.Issue(mfakeys.New("k", nil).HashAPIKey, u.ID, "ci", apikey.ScopeFull, t0, time.Hour)
		if ok, err := s.InsertAPIKey(context.Background(), k); err != nil || ok {
			t.Fatalf("InsertAPIKey for an inactive user = %v, %v", ok, err)
		}
	})
}

// TestAPIKeyUse: a use is written once a minute at most, whatever the
// replica: a second use within the minute changes nothing; a hash made
// again is stored with the use.
func TestAPIKeyUse(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		keys := mfakeys.New("k", nil)
		k, _ := issueKey(t, s, keys, insertUser(t, s, "alice"), "ci", t0, time.Hour)
		use := func(at time.Time, ip string, rehash []byte) apikey.Key {
			t.Helper()
			if err := s.UseAPIKey(ctx, k.ID, at, ip, rehash); err != nil {
				t.Fatal(err)
			}
			got, _, err := s.APIKeyWithUser(ctx, k.ID)
			if err != nil {
				t.Fatal(err)
			}
			list, _ := s.UserAPIKeys(ctx, k.UserID, at)
			if len(list) != 1 || !list[0].LastUsedAt.Equal(got.LastUsedAt) {
				t.Fatalf("the list says %+v", list)
			}
			got.LastUsedIP = list[0].LastUsedIP
			return got
		}
		if got := use(t0.Add(time.Second), "192.0.2.1", nil); !got.LastUsedAt.Equal(t0.Add(time.Second)) || got.LastUsedIP != "192.0.2.1" {
			t.Fatalf("first use: %v %q", got.LastUsedAt, got.LastUsedIP)
		}
		rehash := bytes.Repeat([]byte{9}, mfakeys.APIKeyHashLen)
		if got := use(t0.Add(50*time.Second), "192.0.2.2", rehash); !got.LastUsedAt.Equal(t0.Add(time.Second)) || got.LastUsedIP != "192.0.2.1" || !bytes.Equal(got.Hash, k.Hash) {
			t.Fatalf("a use within the minute was written: %v %q", got.LastUsedAt, got.LastUsedIP)
		}
		if got := use(t0.Add(61*time.Second), "192.0.2.3", rehash); !got.LastUsedAt.Equal(t0.Add(61*time.Second)) || got.LastUsedIP != "192.0.2.3" || !bytes.Equal(got.Hash, rehash) {
			t.Fatalf("a use a minute later: %v %q %x", got.LastUsedAt, got.LastUsedIP, got.Hash)
		}
	})
}

// TestAPIKeyRowHoldsNoSecret: no column of a stored key holds its secret,
// in any form: the raw bytes, their base62 or hex text, or the key.
func TestAPIKeyRowHoldsNoSecret(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		k, key := issueKey(t, s, mfakeys.New("k", nil), insertUser(t, s, "alice"), "ci", t0, time.Hour)
		if err := s.UseAPIKey(context.Background(), k.ID, t0, "192.0.2.1", nil); err != nil {
			t.Fatal(err)
		}
		_, secret, _ := apikey.Parse(key)
		secretText := key[apikey.Len-6-43 : apikey.Len-6]
		rows, err := s.DB().Query(`SELECT * FROM api_keys`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		n := 0
		for rows.Next() {
			n++
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				var b []byte
				switch v := v.(type) {
				case []byte:
					b = v
				case string:
					b = []byte(v)
				default:
					b = []byte(fmt.Sprint(v))
				}
				text := strings.ToLower(string(b))
				for what, found := range map[string]bool{
					"the secret's bytes":  bytes.Contains(b, secret[:8]),
					"the secret's base62": strings.Contains(string(b), secretText[:10]),
					"the secret's hex":    strings.Contains(text, fmt.Sprintf("%x", secret[:8])),
					"the key":             strings.Contains(string(b), key[apikey.PrefixLen:]),
				} {
					if found {
						t.Errorf("column %s holds %s: %q", cols[i], what, b)
					}
				}
			}
		}
		if n != 1 || len(cols) < 9 {
			t.Fatalf("%d rows of %d columns", n, len(cols))
		}
	})
}

// TestAPIKeysNeedTheirMFAKey: the start-up check and the rekey report see
// API keys hashed under each key generation, through its index.
func TestAPIKeysNeedTheirMFAKey(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		old, current := mfakeys.New("old", nil), mfakeys.New("current", nil)
		u := insertUser(t, s, "alice")
		issueKey(t, s, old, u, "a", t0, time.Hour)
		issueKey(t, s, old, u, "b", t0, time.Hour)
		issueKey(t, s, current, u, "c", t0, time.Hour)
		ids, err := s.MFAKeyIDs(ctx)
		if err != nil || len(ids) != 2 {
			t.Fatalf("MFAKeyIDs = %x, %v", ids, err)
		}
		oldID := old.IDs()[0]
		if r, err := s.MFAKeyRows(ctx, oldID[:]); err != nil || r != (sqlstore.KeyRows{APIKeys: 2}) {
			t.Fatalf("MFAKeyRows(old) = %+v, %v", r, err)
		}
	})
}

// TestPurgeExpiredAPIKeys: the purge takes expired keys, no live one.
func TestPurgeExpiredAPIKeys(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		keys := mfakeys.New("k", nil)
		u := insertUser(t, s, "alice")
		issueKey(t, s, keys, u, "over", t0.Add(-time.Hour), time.Hour)
		live, _ := issueKey(t, s, keys, u, "live", t0, time.Hour)
		p, err := s.Purge(context.Background(), t0, sqlstore.Retention{Attempts: time.Hour, Mail: time.Hour})
		if err != nil || p.APIKeys != 1 {
			t.Fatalf("Purge = %+v, %v", p, err)
		}
		if _, _, err := s.APIKeyWithUser(context.Background(), live.ID); err != nil {
			t.Fatalf("the live key: %v", err)
		}
	})
}

// apiKeysSQL fills api_keys: $1 keys of the first users, 25 each, half
// of them expired at $2.
var apiKeysSQL = map[string]string{
	"postgres": `INSERT INTO api_keys (id, user_id, name, scope, secret_hash, created_at, expires_at)
		SELECT uuid_send(gen_random_uuid()), id, 'k' || g, 'read', '\x0101010101010101'::bytea || sha256((id::text || g)::bytea),
			$2::timestamptz - interval '1 day', $2::timestamptz + CASE WHEN g % 2 = 0 THEN interval '1 hour' ELSE interval '-1 hour' END
		FROM (SELECT id FROM users LIMIT $1 / 25) u CROSS JOIN generate_series(0, 24) g`,
	"sqlite": `WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < 24)
		INSERT INTO api_keys (id, user_id, name, scope, secret_hash, created_at, expires_at)
		SELECT randomblob(16), id, 'k' || i, 'read', unhex('0101010101010101' || hex(randomblob(32))),
			strftime('%Y-%m-%dT%H:%M:%fZ', $2, '-1 day'), strftime('%Y-%m-%dT%H:%M:%fZ', $2, CASE WHEN i % 2 = 0 THEN '+1 hour' ELSE '-1 hour' END)
		FROM (SELECT id FROM users LIMIT $1 / 25) CROSS JOIN g`,
}

// TestAPIKeyQueryPlans: with 20,000 users holding 20,000 keys, every API
// key query reads through an index on both engines: no scan of a table,
// and no sort step but the list's, which sorts one user's keys (at most
// apikey.MaxPerUser live ones, and the expired ones not purged yet), as
// PostgreSQL chooses to for so few rows.
func TestAPIKeyQueryPlans(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		bulk(t, s, "users", 20_000, "P", stamp(t0))
		if _, err := s.DB().Exec(apiKeysSQL[s.Engine()], 20_000, stamp(t0)); err != nil {
			t.Fatal(err)
		}
		u := insertUser(t, s, "alice")
		k, _ := issueKey(t, s, mfakeys.New("k", nil), u, "ci", t0, time.Hour)
		if _, err := s.DB().Exec(`ANALYZE`); err != nil {
			t.Fatal(err)
		}
		for _, q := range s.APIKeyQueries(u.ID, k.ID.Bytes(), t0) {
			plan := explain(t, s, q.SQL, q.Args)
			for _, line := range strings.Split(plan, "\n") {
				l := strings.TrimLeft(line, " ->")
				if strings.HasPrefix(l, "SCAN json_each VIRTUAL TABLE") {
					continue // a batch's list of ids
				}
				sorts := !strings.Contains(q.SQL, "ORDER BY created_at DESC") && (strings.HasPrefix(l, "Sort") || strings.Contains(l, "TEMP B-TREE"))
				bad := strings.HasPrefix(l, "Seq Scan") || sorts ||
					strings.HasPrefix(l, "SCAN ") && !strings.Contains(l, " USING ") && l != "SCAN ids" && l != "SCAN CONSTANT ROW"
				if bad {
					t.Errorf("%s\nreads without an index (%q):\n%s", q.SQL, l, plan)
				}
			}
		}
	})
}

// TestAPIKeyBatch: one batch of key lookups, an id unknown and one twice,
// on each engine's batch query: each gets its own key and user, the
// unknown one no row.
func TestAPIKeyBatch(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		keys := mfakeys.New("k", nil)
		var ids []uuid.UUID
		var names []string
		for _, name := range []string{"alice", "bobby", "carol"} {
			u := insertUser(t, s, name)
			issueKey(t, s, keys, u, "other", t0, time.Hour) // not asked for
			k, _ := issueKey(t, s, keys, u, "asked", t0, time.Hour)
			ids, names = append(ids, k.ID), append(names, name)
		}
		asked := []uuid.UUID{ids[0], uuid.Must(uuid.NewV4()), ids[1], ids[0], ids[2]}
		want := []string{names[0], "", names[1], names[0], names[2]}
		ks, us, errs := s.LookUpKeysInOneBatch(asked)
		for i := range asked {
			switch {
			case want[i] == "":
				if !errors.Is(errs[i], sql.ErrNoRows) {
					t.Errorf("lookup %d of an unknown key: %v", i, errs[i])
				}
			case errs[i] != nil:
				t.Errorf("lookup %d: %v", i, errs[i])
			case ks[i].ID != asked[i] || us[i].Username != want[i] || ks[i].UserID != us[i].ID || len(ks[i].Hash) != mfakeys.APIKeyHashLen:
				t.Errorf("lookup %d: key %v of %s, want %v of %s", i, ks[i].ID, us[i].Username, asked[i], want[i])
			}
		}
	})
}

package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// ListQuery is one page query with sample parameters, for plan tests.
type ListQuery struct {
	SQL  string
	Args []any
}

// PurgeQueries returns the batch deletes of s's engine.
func (s *Store) PurgeQueries() (sessions, attempts string) {
	return s.purgeSessions(), s.purgeAttempts()
}

// CredentialQueries returns the queries of the attempt windows and of the
// credential checks, with sample parameters, for plan tests.
func (s *Store) CredentialQueries(userID any, key string, at time.Time) []ListQuery {
	start, cutoff, end := ts(at), ts(at.Add(-time.Hour)), ts(at.Add(time.Hour))
	return []ListQuery{
		{reserveAttempts[1], []any{start, cutoff, end, key, 5}},
		{reserveAttempts[2], []any{start, cutoff, end, key, 5, key + "x", 50}},
		{attemptWindowSQL, []any{key}},
		{releaseAttemptSQL, []any{key, start}},
		{clearAttemptsSQL, []any{key}},
		{s.insertSessionIfCurrentSQL(), []any{[]byte("id"), userID, start, start, start, start, nil, "ua", "ip", 1, "password", "$hash"}},
		{replacePasswordHashSQL, []any{userID, "$old", "$new", start}},
		{rehashPasswordSQL, []any{userID, "$old", "$new"}},
	}
}

// MailQueries returns the outbox's queries with sample parameters, for
// plan tests.
func (s *Store) MailQueries(at time.Time) []ListQuery {
	return []ListQuery{
		{s.claimMailSQL(), []any{ts(at), ts(at.Add(time.Minute)), 16}},
		{oldestDueMailSQL, []any{ts(at)}},
		{s.purgeMail(), []any{ts(at), 250}},
		{s.purgeTokens(), []any{ts(at), 250}},
	}
}

// AddressQueries returns the queries of addresses and tokens with sample
// parameters, for plan tests.
func (s *Store) AddressQueries(userID any, at time.Time) []ListQuery {
	return []ListQuery{
		{userByEmailSQL, []any{"Someone@Example.com"}},
		{emailTakenSQL, []any{"Someone@Example.com", userID}},
		{clearEmailClaimsSQL, []any{"Someone@Example.com", userID, ts(at)}},
		{tokenSQL, []any{make([]byte, 32)}},
		{tokenSQL + s.d.ForUpdate, []any{make([]byte, 32)}},
		{`UPDATE one_time_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL`, []any{userID, ts(at)}},
		{`UPDATE one_time_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL AND purpose = 'recovery'`, []any{userID, ts(at)}},
		{setEmailVerifiedSQL, []any{userID, "a@example.com", ts(at)}},
		{replaceEmailSQL, []any{userID, "a@example.com", ts(at), "$hash"}},
	}
}

// ListQueries returns the query of every kind of page: each sort field and
// direction, by offset and after a key.
func ListQueries() []ListQuery {
	var out []ListQuery
	sample := user.User{ID: user.NewID(), Username: "m", Role: user.RoleUser, IsActive: true,
		CreatedAt: time.Date(2026, 11, 24, 10, 0, 25, 0, time.UTC), UpdatedAt: time.Date(2026, 11, 24, 10, 3, 0, 0, time.UTC)}
	for _, f := range user.SortFields {
		for _, desc := range []bool{false, true} {
			k := user.KeyOf(sample, f)
			for _, p := range []user.Page{{Sort: f, Descending: desc, Limit: 21}, {Sort: f, Descending: desc, Limit: 21, After: &k}} {
				q, args, err := listQuery(p)
				if err != nil {
					panic(err)
				}
				out = append(out, ListQuery{q, args})
			}
		}
	}
	return out
}

// UserSessionQueries are the per-user session queries with sample
// parameters: bounded by the per-user limit, so a sort of their rows is fine.
func UserSessionQueries(userID any) []ListQuery {
	return []ListQuery{
		{userSessionsSQL, []any{userID, ts(time.Now())}},
		{deleteUserSessionSQL, []any{userID, user.NewID()}},
		{deleteOtherSessionsSQL, []any{userID, []byte("x")}},
		{deleteOldestSessionsSQL, []any{userID, 50}},
	}
}

// AuditQueries returns the page queries of the trail with sample
// parameters: the first page, a deep page by cursor, and each filter.
func (s *Store) AuditQueries(target, actor any, deep time.Time) map[string]ListQuery {
	after := &audit.Position{OccurredAt: deep, ID: user.NewID()}
	out := map[string]ListQuery{}
	for name, q := range map[string]audit.Query{
		"first page":    {Limit: 51},
		"deep cursor":   {Limit: 51, After: after},
		"target":        {Limit: 51, TargetID: target.(uuid.UUID)},
		"target cursor": {Limit: 51, TargetID: target.(uuid.UUID), After: after},
		"actor name":    {Limit: 51, Actor: actor.(string)},
		"one type":      {Limit: 51, Types: []audit.Type{audit.AdminGranted}},
		"two types":     {Limit: 51, Types: []audit.Type{audit.AdminGranted, audit.LoginFailed}, After: after},
		"since until":   {Limit: 51, Since: deep.Add(-time.Hour), Until: deep},
	} {
		sql, args := auditQuery(q)
		out[name] = ListQuery{sql, args}
	}
	out["purge"] = ListQuery{s.purgeAuditEvents(), []any{ts(deep), PurgeBatch}}
	return out
}

// SessionLookupQueries are the session-with-user queries, for plan tests: by
// one id, and (on an engine that batches) by an array of them.
func (s *Store) SessionLookupQueries(ids [][]byte) []ListQuery {
	out := []ListQuery{{s.sessionByID, []any{ids[0]}}}
	if s.lookups != nil {
		out = append(out, ListQuery{s.lookups.query, []any{s.lookups.ids(ids)}})
	}
	return out
}

// LookUpInOneBatch runs ids as one batch of queued lookups and returns
// what each got: its session and user, or its error (sql.ErrNoRows for
// an unknown id).
func (s *Store) LookUpInOneBatch(ids [][]byte) ([]session.Session, []user.User, []error) {
	batch := make([]*lookup[sessionRow], len(ids))
	for i, id := range ids {
		batch[i] = &lookup[sessionRow]{id: id, done: make(chan struct{})}
	}
	s.lookups.run(context.Background(), batch)
	ss, us, errs := make([]session.Session, len(ids)), make([]user.User, len(ids)), make([]error, len(ids))
	for i, lk := range batch {
		switch {
		case lk.err != nil:
			errs[i] = lk.err
		case !lk.found:
			errs[i] = sql.ErrNoRows
		default:
			ss[i], us[i] = lk.row.result()
		}
	}
	return ss, us, errs
}

// Prepared reports whether the pool has prepared query.
func (s *Store) Prepared(query string) bool {
	_, ok := s.stmts.Load(query)
	return ok
}

// InsertSessionSQL is InsertSession's query.
const InsertSessionSQL = insertSessionSQL

// PreparedRuns counts the runs of the statements prepared on the
// connection of the transaction in ctx whose text is like like
// (PostgreSQL's pg_prepared_statements).
func PreparedRuns(ctx context.Context, like string) (int, error) {
	st, _ := inTx(ctx)
	var n int
	err := st.tx.QueryRowContext(ctx, `SELECT coalesce(sum(generic_plans + custom_plans), 0) FROM pg_prepared_statements WHERE statement LIKE $1`, like).Scan(&n)
	return n, err
}

// Plans is how a prepared statement has been planned on a connection.
type Plans struct {
	SQL             string
	Generic, Custom int
}

// PreparedPlans reports how the statements prepared on the connection of
// the transaction in ctx whose text is like like have been planned
// (PostgreSQL's pg_prepared_statements): run on their generic plan, or
// planned for the run's parameters.
func PreparedPlans(ctx context.Context, like string) ([]Plans, error) {
	st, _ := inTx(ctx)
	rows, err := st.tx.QueryContext(ctx, `SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE $1`, like)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Plans
	for rows.Next() {
		var p Plans
		if err := rows.Scan(&p.SQL, &p.Generic, &p.Custom); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// MFAQueries returns the second factors' queries with sample parameters,
// for plan tests.
func (s *Store) MFAQueries(userID any, at time.Time) []ListQuery {
	id, digest := make([]byte, 32), make([]byte, 32)
	return []ListQuery{
		{factorsSQL, []any{userID}},
		{totpSQL, []any{userID}},
		{acceptTOTPStepSQL, []any{userID, 42, nil}},
		{s.useRecoveryCodeSQL(), []any{s.d.IDList([][]byte{digest, id}), userID}},
		{insertRecoveryCodeSQL, []any{userID, digest, id, ts(at)}},
		{deleteRecoveryCodesSQL, []any{userID}},
		{countPendingAttemptSQL, []any{id, ts(at), 5}},
		{deletePendingLoginSQL, []any{id}},
		{deleteUserPendingLoginsSQL, []any{userID}},
		{s.purgePendingLogins(), []any{ts(at), 250}},
		{s.lockUserWithPasswordSQL(), []any{userID, "$hash"}},
		{pendingLoginSQL, []any{id, ts(at)}},
		{handleSQL, []any{userID}},
		{userByHandleSQL, []any{digest}},
		{passkeysSQL, []any{userID}},
		{usePasskeySQL, []any{id, "{}", 2, ts(at), 1}},
		{deletePasskeySQL, []any{userID, userID}},
		{deletePasskeysSQL, []any{userID}},
		{takeCeremonySQL, []any{id}},
		{s.purgeCeremonies(), []any{ts(at), 250}},
	}
}

// MFAKeyQueries returns the queries by key id (of the start-up check and
// of a rekey) with sample parameters, for plan tests.
func MFAKeyQueries(keyID []byte, userID any) []ListQuery {
	return []ListQuery{
		{totpKeyIDsSQL, nil},
		{codeKeyIDsSQL, nil},
		{totpUnderKeySQL, []any{keyID}},
		{codesUnderKeySQL, []any{keyID}},
		{unsealedCodesSQL, nil},
		{totpBatchSQL, []any{keyID, userID, 1000}},
		{codeBatchSQL, []any{keyID, userID, []byte{1}, 1000}},
		{resealTOTPSQL, []any{userID, []byte{1}, []byte{2}}},
		{resealRecoveryCodeSQL, []any{userID, []byte{1}, []byte{2}, []byte{3}}},
	}
}

// APIKeyQueries returns the API keys' queries with sample parameters, for
// plan tests.
func (s *Store) APIKeyQueries(userID any, keyID []byte, at time.Time) []ListQuery {
	return []ListQuery{
		{s.apiKeyByID, []any{keyID}},
		{apiKeySQL(s.d, fmt.Sprintf(s.d.InIDList, "k.id")), []any{s.d.IDList([][]byte{keyID, make([]byte, 16)})}},
		{s.insertAPIKeySQL(), []any{keyID, userID, "ci", "read", make([]byte, 40), ts(at), ts(at.Add(time.Hour))}},
		{useAPIKeySQL, []any{keyID, ts(at), "192.0.2.1", ts(at.Add(-time.Minute)), nil}},
		{userAPIKeysSQL, []any{userID, ts(at)}},
		{liveAPIKeysSQL, []any{userID, ts(at)}},
		{deleteUserAPIKeySQL, []any{userID, keyID}},
		{deleteAPIKeysSQL, []any{userID}},
		{s.purgeAPIKeys(), []any{ts(at), 250}},
		{apiKeyKeyIDsSQL, nil},
		{apiKeysUnderKeySQL, []any{make([]byte, 8)}},
	}
}

// LookUpKeysInOneBatch runs ids as one batch of queued API key lookups
// and returns what each got: its key and user, or its error
// (sql.ErrNoRows for an unknown id).
func (s *Store) LookUpKeysInOneBatch(ids []uuid.UUID) ([]apikey.Key, []user.User, []error) {
	batch := make([]*lookup[apiKeyRow], len(ids))
	for i, id := range ids {
		batch[i] = &lookup[apiKeyRow]{id: id.Bytes(), done: make(chan struct{})}
	}
	s.keyLookups.run(context.Background(), batch)
	ks, us, errs := make([]apikey.Key, len(ids)), make([]user.User, len(ids)), make([]error, len(ids))
	for i, lk := range batch {
		switch {
		case lk.err != nil:
			errs[i] = lk.err
		case !lk.found:
			errs[i] = sql.ErrNoRows
		default:
			ks[i], us[i] = lk.row.result()
		}
	}
	return ks, us, errs
}

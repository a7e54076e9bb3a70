package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/identity"
)

// The queries of linked identities and sign-in flows: each finds its rows
// by a primary key, identities_issuer_subject_key or
// identities_user_id_idx.
const (
	identityColumns    = `id, user_id, provider, issuer, subject, email, created_at, last_used_at`
	insertIdentitySQL  = `INSERT INTO identities (` + identityColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (issuer, subject) DO NOTHING`
	identityBySubject  = `SELECT ` + identityColumns + ` FROM identities WHERE issuer = $1 AND subject = $2`
	identitiesSQL      = `SELECT ` + identityColumns + ` FROM identities WHERE user_id = $1 ORDER BY created_at, id`
	useIdentitySQL     = `UPDATE identities SET email = $2, last_used_at = $3 WHERE id = $1`
	deleteIdentitySQL  = `DELETE FROM identities WHERE id = $2 AND user_id = $1`
	countIdentitiesSQL = `SELECT count(*) FROM identities WHERE user_id = $1`
	insertFlowSQL      = `INSERT INTO oauth_flows (state_hash, id, provider, purpose, user_id, session_id, nonce, verifier, binding, return_to, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
	takeFlowSQL = `DELETE FROM oauth_flows WHERE state_hash = $1
		RETURNING id, provider, purpose, user_id, session_id, nonce, verifier, binding, return_to, created_at, expires_at`
)

// identityRow is an identities row.
type identityRow struct {
	ID         uuid.UUID      `db:"id"`
	UserID     uuid.UUID      `db:"user_id"`
	Provider   string         `db:"provider"`
	Issuer     string         `db:"issuer"`
	Subject    string         `db:"subject"`
	Email      sql.NullString `db:"email"`
	CreatedAt  dbTime         `db:"created_at"`
	LastUsedAt dbTime         `db:"last_used_at"`
}

func (r identityRow) identity() identity.Identity {
	return identity.Identity{ID: r.ID, UserID: r.UserID, Provider: r.Provider, Issuer: r.Issuer, Subject: r.Subject,
		Email: r.Email.String, CreatedAt: r.CreatedAt.Time, LastUsedAt: r.LastUsedAt.Time}
}

// InsertIdentity links an identity to its user; an identity (issuer,
// subject) linked already, to anyone, is identity.ErrIdentityInUse (and,
// in a transaction, leaves it usable: the insert does nothing rather than
// fail).
func (s *Store) InsertIdentity(ctx context.Context, i identity.Identity) error {
	n, err := s.execCount(ctx, "insert identity", insertIdentitySQL,
		i.ID, i.UserID, i.Provider, i.Issuer, i.Subject, nullString(i.Email), ts(i.CreatedAt), nullTime(i.LastUsedAt))
	if err == nil && n == 0 {
		return identity.ErrIdentityInUse
	}
	return err
}

// IdentityBySubject returns the identity (issuer, subject);
// identity.ErrIdentityNotFound when none is linked.
func (s *Store) IdentityBySubject(ctx context.Context, issuer, subject string) (identity.Identity, error) {
	var r identityRow
	err := s.translate("identity by subject", s.q(ctx).GetContext(ctx, &r, identityBySubject, issuer, subject))
	if errors.Is(err, sql.ErrNoRows) {
		return identity.Identity{}, identity.ErrIdentityNotFound
	}
	if err != nil {
		return identity.Identity{}, err
	}
	return r.identity(), nil
}

// Identities returns a user's identities in the order they were linked.
func (s *Store) Identities(ctx context.Context, userID uuid.UUID) ([]identity.Identity, error) {
	var rows []identityRow
	if err := s.q(ctx).SelectContext(ctx, &rows, identitiesSQL, userID); err != nil {
		return nil, s.translate("identities", err)
	}
	out := make([]identity.Identity, len(rows))
	for k, r := range rows {
		out[k] = r.identity()
	}
	return out, nil
}

// CountIdentities returns how many identities a user has.
func (s *Store) CountIdentities(ctx context.Context, userID uuid.UUID) (int, error) {
	var n int
	err := s.scanRow(ctx, countIdentitiesSQL, []any{userID}, &n)
	return n, s.translate("count identities", err)
}

// UseIdentity records a sign-in with an identity: when, and the address
// the provider gave this time.
func (s *Store) UseIdentity(ctx context.Context, id uuid.UUID, email string, now time.Time) error {
	_, err := s.q(ctx).ExecContext(ctx, useIdentitySQL, id, nullString(email), ts(now))
	return s.translate("use identity", err)
}

// DeleteIdentity unlinks a user's identity with public id id;
// identity.ErrIdentityNotFound when the user has none such.
func (s *Store) DeleteIdentity(ctx context.Context, userID, id uuid.UUID) error {
	n, err := s.execCount(ctx, "delete identity", deleteIdentitySQL, userID, id)
	if err == nil && n == 0 {
		return identity.ErrIdentityNotFound
	}
	return err
}

// InsertFlow stores a sign-in flow begun.
func (s *Store) InsertFlow(ctx context.Context, f identity.Flow) error {
	_, err := s.q(ctx).ExecContext(ctx, insertFlowSQL, f.StateHash, f.ID, f.Provider, string(f.Purpose), nullID(f.UserID), f.SessionID,
		f.Nonce, f.Verifier, f.Binding, f.ReturnTo, ts(f.CreatedAt), ts(f.ExpiresAt))
	return s.translate("insert flow", err)
}

// TakeFlow deletes the flow whose state has the digest stateHash and
// returns it, if it is live at now: a state is spent once, whatever
// comes of it, on any replica (of two callbacks at once, one gets the
// flow). identity.ErrStateInvalid when there is no such live flow.
func (s *Store) TakeFlow(ctx context.Context, stateHash []byte, now time.Time) (identity.Flow, error) {
	var rows []struct {
		ID        uuid.UUID     `db:"id"`
		Provider  string        `db:"provider"`
		Purpose   string        `db:"purpose"`
		UserID    uuid.NullUUID `db:"user_id"`
		SessionID []byte        `db:"session_id"`
		Nonce     string        `db:"nonce"`
		Verifier  []byte        `db:"verifier"`
		Binding   []byte        `db:"binding"`
		ReturnTo  string        `db:"return_to"`
		CreatedAt dbTime        `db:"created_at"`
		ExpiresAt dbTime        `db:"expires_at"`
	}
	if err := s.q(ctx).SelectContext(ctx, &rows, takeFlowSQL, stateHash); err != nil {
		return identity.Flow{}, s.translate("take flow", err)
	}
	if len(rows) == 0 || !now.Before(rows[0].ExpiresAt.Time) {
		return identity.Flow{}, identity.ErrStateInvalid
	}
	r := rows[0]
	return identity.Flow{ID: r.ID, StateHash: stateHash, Provider: r.Provider, Purpose: identity.Purpose(r.Purpose), UserID: r.UserID.UUID, SessionID: r.SessionID,
		Nonce: r.Nonce, Verifier: r.Verifier, Binding: r.Binding, ReturnTo: r.ReturnTo, CreatedAt: r.CreatedAt.Time, ExpiresAt: r.ExpiresAt.Time}, nil
}

func (s *Store) purgeFlows() string {
	return s.batchDelete("oauth_flows", "state_hash", "expires_at <= $1", "expires_at")
}

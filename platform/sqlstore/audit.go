package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
)

const insertEventSQL = `INSERT INTO audit_events (id, occurred_at, type, actor_id, target_id, ip, user_agent, request_id, details)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`

// RecordEvent writes e in the transaction in ctx, so that it commits or
// rolls back with the change it records, or else in a transaction of its
// own, and queues e's webhook deliveries with it: one statement where the
// dialect allows (Dialect.WriteFirst), and the deliveries' body only when
// there are some (setWebhookPayloads). Once it has committed, the store's
// Audited hook hears of it.
func (s *Store) RecordEvent(ctx context.Context, e audit.Event) error {
	st, ok := inTx(ctx)
	if !ok {
		return s.WithinTx(ctx, func(ctx context.Context) error { return s.RecordEvent(ctx, e) })
	}
	details, err := json.Marshal(e.Details)
	if err != nil {
		return fmt.Errorf("record %s: details: %w", e.Type, err)
	}
	if len(details) == 0 || string(details) == "null" {
		details = []byte("{}")
	}
	args := []any{e.ID, ts(e.OccurredAt), string(e.Type), nullID(e.Actor.ID), nullID(e.Target.ID), e.IP, e.UserAgent, e.RequestID, string(details)}
	var endpoints []uuid.UUID
	if s.recordEvent != "" {
		err = s.q(ctx).SelectContext(ctx, &endpoints, s.recordEvent, args...)
	} else if _, err = s.q(ctx).ExecContext(ctx, insertEventSQL, args...); err == nil {
		err = s.q(ctx).SelectContext(ctx, &endpoints, queueWebhooksSQL, args[:3]...)
	}
	if err != nil {
		return s.translate("record "+string(e.Type), err)
	}
	if err := s.setWebhookPayloads(ctx, e, endpoints); err != nil {
		return err
	}
	st.events = append(st.events, e)
	return nil
}

// announce passes a committed event to the Audited hook.
func (s *Store) announce(e audit.Event) {
	if s.audited != nil {
		s.audited(e)
	}
}

// AuditEvents returns the page of events q selects, newest first, with the
// usernames of their actors and targets.
func (s *Store) AuditEvents(ctx context.Context, q audit.Query) ([]audit.Event, error) {
	query, args := auditQuery(q)
	var rows []struct {
		ID         uuid.UUID      `db:"id"`
		OccurredAt dbTime         `db:"occurred_at"`
		Type       string         `db:"type"`
		ActorID    uuid.NullUUID  `db:"actor_id"`
		ActorName  sql.NullString `db:"actor_name"`
		TargetID   uuid.NullUUID  `db:"target_id"`
		TargetName sql.NullString `db:"target_name"`
		IP         string         `db:"ip"`
		UserAgent  string         `db:"user_agent"`
		RequestID  string         `db:"request_id"`
		Details    []byte         `db:"details"`
	}
	if err := s.q(ctx).SelectContext(ctx, &rows, query, args...); err != nil {
		return nil, s.translate("audit events", err)
	}
	out := make([]audit.Event, len(rows))
	for i, r := range rows {
		e := audit.Event{
			ID: r.ID, OccurredAt: r.OccurredAt.Time, Type: audit.Type(r.Type),
			Actor:  audit.Party{ID: r.ActorID.UUID, Username: r.ActorName.String},
			Target: audit.Party{ID: r.TargetID.UUID, Username: r.TargetName.String},
			Source: audit.Source{IP: r.IP, UserAgent: r.UserAgent, RequestID: r.RequestID},
		}
		if err := json.Unmarshal(r.Details, &e.Details); err != nil {
			return nil, fmt.Errorf("audit event %s: details: %w", r.ID, err)
		}
		out[i] = e
	}
	return out, nil
}

const eventColumns = `id, occurred_at, type, actor_id, target_id, ip, user_agent, request_id, details`

// auditQuery returns the query of a page of events and its parameters ($1
// is the limit). Each event type asked for is its own branch, read newest
// first through the index that leads with its most selective filter (type,
// target, actor or time) and cut at the limit; the branches are then merged
// and cut again. So a page costs at most limit rows a type at any size of
// the trail, whichever filters it has.
func auditQuery(q audit.Query) (string, []any) {
	args := []any{q.Limit}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var where []string
	userID := func(name string) string {
		return `(SELECT id FROM users WHERE lower(username) = lower(` + arg(name) + `))`
	}
	if q.Actor != "" {
		where = append(where, `actor_id = `+userID(q.Actor))
	}
	switch {
	case !q.TargetID.IsNil():
		where = append(where, `target_id = `+arg(q.TargetID))
	case q.Target != "":
		where = append(where, `target_id = `+userID(q.Target))
	}
	if !q.Since.IsZero() {
		where = append(where, `occurred_at >= `+arg(ts(q.Since)))
	}
	if !q.Until.IsZero() {
		where = append(where, `occurred_at < `+arg(ts(q.Until)))
	}
	if q.After != nil {
		at := arg(ts(q.After.OccurredAt))
		where = append(where, `(occurred_at, id) < (`+at+`, `+arg(q.After.ID)+`)`)
	}
	types := q.Types
	if len(types) == 0 {
		types = []audit.Type{""}
	}
	branches := make([]string, len(types))
	for i, t := range types {
		w := where
		if t != "" {
			w = append(w[:len(w):len(w)], `type = `+arg(string(t)))
		}
		cond := ""
		if len(w) > 0 {
			cond = ` WHERE ` + strings.Join(w, ` AND `)
		}
		branches[i] = `SELECT * FROM (SELECT ` + eventColumns + ` FROM audit_events` + cond +
			` ORDER BY occurred_at DESC, id DESC LIMIT $1) b` + strconv.Itoa(i)
	}
	return `SELECT e.*, a.username AS actor_name, t.username AS target_name
		FROM (` + strings.Join(branches, ` UNION ALL `) + `) e
		LEFT JOIN users a ON a.id = e.actor_id
		LEFT JOIN users t ON t.id = e.target_id
		ORDER BY e.occurred_at DESC, e.id DESC LIMIT $1`, args
}

// DeleteOldAuditEvents removes the events that occurred before cutoff and
// returns how many, in batches through the occurred_at index: the
// retention of audit.retention.
func (s *Store) DeleteOldAuditEvents(ctx context.Context, cutoff time.Time) (int64, error) {
	return s.deleteInBatches(ctx, "delete old audit events", s.purgeAuditEvents(), ts(cutoff))
}

func (s *Store) purgeAuditEvents() string {
	return s.batchDelete("audit_events", "id", "occurred_at < $1", "occurred_at")
}

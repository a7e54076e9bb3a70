package audit

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/cursor"
)

// Limits of a page of events.
const (
	DefaultLimit = 50
	MaxLimit     = 100
)

// Params is a page of events as a client asked for it: each field the
// query parameter's text, empty when absent.
type Params struct {
	Type, Actor, Target, Since, Until, Limit, Cursor string
	// Unknown names query parameters that mean nothing here.
	Unknown []string
	// Known lists the parameters that do, for the message about the others.
	Known []string
}

// ParamsFrom reads the parameters named in known from a request's query;
// every other name present is Unknown (sorted), so that it gets a 422.
func ParamsFrom(values url.Values, known []string) Params {
	get := func(name string) string {
		if slices.Contains(known, name) {
			return values.Get(name)
		}
		return ""
	}
	p := Params{Type: get("type"), Actor: get("actor"), Target: get("target"), Since: get("since"),
		Until: get("until"), Limit: get("limit"), Cursor: get("cursor")}
	for name := range values {
		if !slices.Contains(known, name) {
			p.Unknown = append(p.Unknown, name)
		}
	}
	slices.Sort(p.Unknown)
	return p
}

// ParseParams checks p, listing every bad parameter at once, and returns
// its query. A cursor carries the filters of the page that made it: given
// with different filters it is refused; given alone it continues them.
func ParseParams(p Params) (Query, error) {
	q := Query{Limit: DefaultLimit, Actor: p.Actor, Target: p.Target}
	var fields []apperr.FieldError
	bad := func(field, msg string) { fields = append(fields, apperr.FieldError{Field: field, Message: msg}) }
	if p.Limit != "" {
		n, err := strconv.Atoi(p.Limit)
		if err != nil || n < 1 || n > MaxLimit {
			bad("limit", fmt.Sprintf("limit must be a whole number from 1 to %d", MaxLimit))
		}
		q.Limit = n
	}
	if p.Type != "" {
		for _, name := range strings.Split(p.Type, ",") {
			t := Type(strings.TrimSpace(name))
			if !t.Valid() {
				bad("type", fmt.Sprintf("unknown event type %q; the types are %s", t, strings.ReplaceAll(joinTypes(Types), ",", ", ")))
				continue
			}
			if !slices.Contains(q.Types, t) {
				q.Types = append(q.Types, t)
			}
		}
	}
	var err error
	if q.Since, err = parseBound(p.Since); err != nil {
		bad("since", "since must be an RFC 3339 time, e.g. 2026-01-02T15:04:05Z")
	}
	if q.Until, err = parseBound(p.Until); err != nil {
		bad("until", "until must be an RFC 3339 time, e.g. 2026-01-02T15:04:05Z")
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Since.After(q.Until) {
		bad("since", "since must not be after until")
	}
	if p.Cursor != "" && len(fields) == 0 {
		c, err := decodeCursor(p.Cursor)
		switch {
		case err != nil:
			bad("cursor", "cursor is malformed or altered; use next_cursor exactly as a page gave it")
		case !p.filtered() || c.filters() == q.filters():
			c.Limit = q.Limit
			q = c
		default:
			bad("cursor", "this cursor continues other filters ("+c.filters()+"); leave the filters out or give those")
		}
	}
	for _, name := range p.Unknown {
		bad(name, "unknown parameter; use "+strings.Join(p.Known, ", "))
	}
	if len(fields) > 0 {
		return Query{}, apperr.Invalid(fields...)
	}
	return q, nil
}

func (p Params) filtered() bool {
	return p.Type != "" || p.Actor != "" || p.Target != "" || p.Since != "" || p.Until != ""
}

// parseBound reads an RFC 3339 time, to the microsecond the databases keep.
func parseBound(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC().Truncate(time.Microsecond), nil
}

// joinTypes is ts as a comma list, the form of the type parameter.
func joinTypes(ts []Type) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = string(t)
	}
	return strings.Join(names, ",")
}

// filters is the text of q's filters, for cursors and their messages.
func (q Query) filters() string {
	return "type=" + joinTypes(q.Types) + "&actor=" + q.Actor + "&target=" + q.Target +
		"&since=" + FormatTime(q.Since) + "&until=" + FormatTime(q.Until)
}

// Cut takes the events read for q with one more than q.Limit asked for
// (which says whether another page follows) and returns the page and the
// cursor of the next one, empty on the last page.
func (q Query) Cut(events []Event) ([]Event, string) {
	if len(events) <= q.Limit {
		return events, ""
	}
	page := events[:q.Limit]
	return page, q.Cursor(page[q.Limit-1])
}

// Cursor returns the token of the page of q that follows last.
func (q Query) Cursor(last Event) string {
	return cursor.Encode(joinTypes(q.Types), q.Actor, q.Target, FormatTime(q.Since), FormatTime(q.Until),
		FormatTime(last.OccurredAt), last.ID.String())
}

func decodeCursor(token string) (Query, error) {
	f, err := cursor.Decode(token, 7)
	if err != nil {
		return Query{}, err
	}
	q := Query{Actor: f[1], Target: f[2]}
	if f[0] != "" {
		// The service writes each known type once: anything else (a type
		// repeated, one query branch per repeat) is forged.
		names := strings.Split(f[0], ",")
		if len(names) > len(Types) {
			return Query{}, cursor.ErrInvalid
		}
		for _, name := range names {
			if !Type(name).Valid() || slices.Contains(q.Types, Type(name)) {
				return Query{}, cursor.ErrInvalid
			}
			q.Types = append(q.Types, Type(name))
		}
	}
	since, err1 := ParseTime(f[3])
	until, err2 := ParseTime(f[4])
	at, err3 := ParseTime(f[5])
	id, err4 := uuid.FromString(f[6])
	if errors.Join(err1, err2, err3, err4) != nil || at.IsZero() {
		return Query{}, cursor.ErrInvalid
	}
	q.Since, q.Until = since, until
	q.After = &Position{OccurredAt: at, ID: id}
	return q, nil
}

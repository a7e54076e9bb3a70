package audit

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/cursor"
)

func fieldsOf(err error) string {
	e, ok := apperr.As(err)
	if !ok || e.Kind != apperr.KindInvalid {
		return "not a validation error"
	}
	var names []string
	for _, f := range e.Fields {
		names = append(names, f.Field)
	}
	return strings.Join(names, ",")
}

func TestParseParams(t *testing.T) {
	since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in     Params
		fields string
		check  func(q Query) bool
	}{
		{Params{}, "", func(q Query) bool { return q.Limit == DefaultLimit && len(q.Types) == 0 && q.After == nil }},
		{Params{Limit: "100", Type: "login.failed, login.failed,user.created"}, "", func(q Query) bool {
			return q.Limit == 100 && len(q.Types) == 2 && q.Types[0] == LoginFailed && q.Types[1] == UserCreated
		}},
		{Params{Since: "2026-11-01T01:00:00+01:00", Until: "2026-11-02T00:00:00.0000019Z"}, "", func(q Query) bool {
			return q.Since.Equal(since) && q.Until.Nanosecond() == 1000 // microseconds, as stored
		}},
		{Params{Since: "2026-11-01T00:00:00Z", Until: "2026-11-01T00:00:00Z"}, "", nil},
		{Params{Limit: "0"}, "limit", nil},
		{Params{Limit: "101"}, "limit", nil},
		{Params{Type: "login.failed,user.vanished"}, "type", nil},
		{Params{Since: "2026-11-02"}, "since", nil},
		{Params{Since: "2026-11-02T00:00:00Z", Until: "2026-11-01T00:00:00Z"}, "since", nil},
		{Params{Cursor: "bm90IGEgY3Vyc29y"}, "cursor", nil},
		{Params{Limit: "x", Type: "x", Until: "x", Unknown: []string{"page"}, Known: []string{"limit"}}, "limit,type,until,page", nil},
	}
	for _, tc := range tests {
		q, err := ParseParams(tc.in)
		if tc.fields != "" {
			if got := fieldsOf(err); got != tc.fields {
				t.Errorf("%+v: fields %s, want %s", tc.in, got, tc.fields)
			}
			continue
		}
		if err != nil || tc.check != nil && !tc.check(q) {
			t.Errorf("%+v: %+v, %v", tc.in, q, err)
		}
	}
}

func TestCursorCarriesFilters(t *testing.T) {
	q, err := ParseParams(Params{Type: "session.ended,login.failed", Target: "Alice", Since: "2026-11-01T00:00:00Z", Limit: "5"})
	if err != nil {
		t.Fatal(err)
	}
	last := Event{ID: uuid.Must(uuid.NewV7()), OccurredAt: time.Date(2026, 11, 24, 10, 0, 0, 123456000, time.UTC)}
	events := make([]Event, 6)
	events[4] = last
	page, token := q.Cut(events)
	if len(page) != 5 || token == "" {
		t.Fatalf("Cut: %d events, cursor %q", len(page), token)
	}
	if _, next := q.Cut(events[:5]); next != "" {
		t.Fatal("a last page has a cursor")
	}
	for name, p := range map[string]Params{
		"alone":        {Cursor: token, Limit: "7"},
		"same filters": {Cursor: token, Type: "session.ended,login.failed", Target: "Alice", Since: "2026-11-01T00:00:00Z"},
	} {
		c, err := ParseParams(p)
		if err != nil || c.After == nil || c.After.ID != last.ID || !c.After.OccurredAt.Equal(last.OccurredAt) ||
			c.Target != "Alice" || len(c.Types) != 2 || !c.Since.Equal(q.Since) {
			t.Errorf("%s: %+v, %v", name, c, err)
		}
		if name == "alone" && c.Limit != 7 {
			t.Errorf("the limit of the request does not apply: %d", c.Limit)
		}
	}
	for name, p := range map[string]Params{
		"other type":   {Cursor: token, Type: "session.ended"},
		"other target": {Cursor: token, Target: "bob"},
		"an actor":     {Cursor: token, Actor: "root"},
		"edited":       {Cursor: edited(token)},
	} {
		if got := fieldsOf(func() error { _, err := ParseParams(p); return err }()); got != "cursor" {
			t.Errorf("%s: fields %s, want cursor", name, got)
		}
	}
}

// edited is token with its middle character changed (a character it
// already has would leave it as it is).
func edited(token string) string {
	m, c := len(token)/2, byte('A')
	if token[m] == c {
		c = 'B'
	}
	return token[:m] + string(c) + token[m+1:]
}

// TestForgedCursors: the checksum keeps no one from making a cursor, so
// its types are checked as the service writes them: each known type at
// most once (a type repeated 501 times was 501 query branches).
func TestForgedCursors(t *testing.T) {
	at, id := "2026-11-24T10:00:00.000000Z", uuid.Must(uuid.NewV7()).String()
	forge := func(types string) string { return cursor.Encode(types, "", "", "", "", at, id) }
	all := joinTypes(Types)
	for name, types := range map[string]string{
		"a type repeated":     "login.failed,login.failed",
		"repeated 501 times":  strings.TrimSuffix(strings.Repeat("login.failed,", 501), ","),
		"more than there are": all + ",login.failed",
		"an unknown type":     "login.failed,nonsense",
	} {
		if got := fieldsOf(func() error { _, err := ParseParams(Params{Cursor: forge(types)}); return err }()); got != "cursor" {
			t.Errorf("%s: fields %s, want cursor", name, got)
		}
	}
	for _, types := range []string{"", "login.failed", all} {
		if q, err := ParseParams(Params{Cursor: forge(types)}); err != nil || q.After == nil {
			t.Errorf("types %q: %v", types, err)
		}
	}
}

func TestParamsFrom(t *testing.T) {
	v := url.Values{"type": {"login.failed"}, "actor": {"root"}, "limit": {"5"}, "page": {"2"}, "b": {"x"}}
	p := ParamsFrom(v, []string{"type", "limit", "cursor"})
	if p.Type != "login.failed" || p.Limit != "5" || p.Actor != "" || strings.Join(p.Unknown, ",") != "actor,b,page" {
		t.Fatalf("ParamsFrom = %+v", p)
	}
}

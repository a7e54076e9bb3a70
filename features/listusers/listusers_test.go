package listusers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
)

type fakeStore struct{ got []user.Page }

func (f *fakeStore) ListUsers(_ context.Context, p user.Page) ([]user.User, int, error) {
	f.got = append(f.got, p)
	return nil, 7, nil
}

var admin = auth.Actor{User: user.User{ID: user.NewID(), Role: user.RoleAdmin}, SessionID: []byte{1}}

func TestParse(t *testing.T) {
	tests := []struct {
		in     Input
		want   user.Page
		fields string
	}{
		{Input{}, user.Page{Sort: user.SortUpdatedAt, Descending: true, Limit: 20}, ""},
		{Input{Limit: "100", Offset: "40", Sort: "username", Order: "asc"}, user.Page{Sort: user.SortUsername, Limit: 100, Offset: 40}, ""},
		{Input{Limit: "1", Sort: "is_active", Order: "desc"}, user.Page{Sort: user.SortIsActive, Descending: true, Limit: 1}, ""},
		{Input{Limit: "0"}, user.Page{}, "limit"},
		{Input{Limit: "101"}, user.Page{}, "limit"},
		{Input{Limit: "ten"}, user.Page{}, "limit"},
		{Input{Offset: "-1"}, user.Page{}, "offset"},
		{Input{Sort: "password_hash"}, user.Page{}, "sort"},
		{Input{Order: "ASC"}, user.Page{}, "order"},
		{Input{Limit: "x", Offset: "y", Sort: "z", Order: "w", Unknown: []string{"page"}}, user.Page{}, "limit,offset,sort,order,page"},
	}
	for _, tc := range tests {
		got, err := parse(tc.in)
		if tc.fields == "" {
			if err != nil || got != tc.want {
				t.Errorf("parse(%+v) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
			continue
		}
		e, ok := apperr.As(err)
		if !ok || e.Kind != apperr.KindInvalid {
			t.Errorf("parse(%+v) = %v, want a validation error", tc.in, err)
			continue
		}
		var names []string
		for _, f := range e.Fields {
			names = append(names, f.Field)
		}
		if strings.Join(names, ",") != tc.fields {
			t.Errorf("parse(%+v) fields %v, want %s", tc.in, names, tc.fields)
		}
	}
}

func TestListUsersAuthorization(t *testing.T) {
	f := &fakeStore{}
	i := New(f)
	if _, err := i.Execute(context.Background(), auth.Actor{}, Input{}); !errors.Is(err, auth.ErrNotAuthenticated) {
		t.Errorf("anonymous: %v", err)
	}
	plain := auth.Actor{User: user.User{Role: user.RoleUser}, SessionID: []byte{1}}
	if _, err := i.Execute(context.Background(), plain, Input{Limit: "bad"}); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("plain user (403 before 422): %v", err)
	}
	if len(f.got) != 0 {
		t.Fatal("refused requests reached the store")
	}
	res, err := i.Execute(context.Background(), admin, Input{Limit: "5"})
	if err != nil || res.Total != 7 || res.Limit != 5 || len(f.got) != 1 {
		t.Fatalf("admin: %+v, %v", res, err)
	}
}

// pageStore returns n users, whatever page is asked for.
type pageStore struct {
	n   int
	got []user.Page
}

func (f *pageStore) ListUsers(_ context.Context, p user.Page) ([]user.User, int, error) {
	f.got = append(f.got, p)
	us := make([]user.User, f.n)
	for i := range us {
		us[i] = user.User{ID: user.NewID(), Username: fmt.Sprintf("User%02d", i), Role: user.RoleUser}
	}
	return us[:min(f.n, p.Limit)], 1000, nil
}

func TestNextCursor(t *testing.T) {
	ctx := context.Background()
	// A full page and one more row: the cursor continues after the page's last row.
	f := &pageStore{n: 50}
	res, err := New(f).Execute(ctx, admin, Input{Limit: "3", Sort: "username", Order: "asc"})
	if err != nil || len(res.Users) != 3 || res.NextCursor == "" || res.Offset == nil || *res.Offset != 0 {
		t.Fatalf("first page: %+v, %v", res, err)
	}
	if f.got[0].Limit != 4 {
		t.Fatalf("asked the store for %d rows, want limit+1", f.got[0].Limit)
	}
	res2, err := New(f).Execute(ctx, admin, Input{Limit: "3", Cursor: res.NextCursor})
	if err != nil || res2.Offset != nil {
		t.Fatalf("cursor page: %+v, %v", res2, err)
	}
	p := f.got[1]
	if p.Sort != user.SortUsername || p.Descending || p.After == nil || p.After.Value != "user02" || p.After.ID != res.Users[2].ID {
		t.Fatalf("cursor page asked %+v (after %+v)", p, p.After)
	}
	// The last page has no cursor.
	res3, err := New(&pageStore{n: 3}).Execute(ctx, admin, Input{Limit: "3"})
	if err != nil || res3.NextCursor != "" {
		t.Fatalf("last page: cursor %q, %v", res3.NextCursor, err)
	}
}

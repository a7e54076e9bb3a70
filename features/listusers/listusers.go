// Package listusers lets admins page through all users, by offset or by
// cursor.
package listusers

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/cursor"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Limits of a page.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// Interactor lists users.
type Interactor struct{ store Store }

// New returns the interactor.
func New(store Store) *Interactor { return &Interactor{store: store} }

// Input is the query as the client wrote it; empty means the default.
type Input struct {
	Limit, Offset, Sort, Order, Cursor string
	// Unknown names query parameters that mean nothing here.
	Unknown []string
}

// Result is one page and the number of all users.
type Result struct {
	Users []user.User
	Total int
	Limit int
	// Offset is the number of users skipped; nil on a page reached by cursor.
	Offset *int
	// NextCursor continues after this page; empty on the last page.
	NextCursor string
}

// Execute checks the query, listing every bad parameter at once, and returns
// the page.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) (Result, error) {
	if err := auth.Require(actor, user.RoleAdmin); err != nil {
		return Result{}, err
	}
	page, err := parse(in)
	if err != nil {
		return Result{}, err
	}
	// One row more than the page says whether another page follows.
	fetch := page
	fetch.Limit++
	users, total, err := i.store.ListUsers(ctx, fetch)
	if err != nil {
		return Result{}, fmt.Errorf("list users: %w", err)
	}
	res := Result{Users: users, Total: total, Limit: page.Limit}
	if page.After == nil {
		res.Offset = &page.Offset
	}
	if len(users) > page.Limit {
		res.Users = users[:page.Limit]
		res.NextCursor = encodeCursor(page, user.KeyOf(res.Users[page.Limit-1], page.Sort))
	}
	return res, nil
}

// A cursor holds its sort, its order and the last row's key.
func encodeCursor(p user.Page, k user.Key) string {
	return cursor.Encode(string(p.Sort), order(p.Descending), k.Value, k.ID.String())
}

func order(descending bool) string {
	if descending {
		return "desc"
	}
	return "asc"
}

func decodeCursor(s string) (user.Page, error) {
	f, err := cursor.Decode(s, 4)
	if err != nil {
		return user.Page{}, err
	}
	p := user.Page{Sort: user.SortField(f[0]), Descending: f[1] == "desc"}
	id, err := uuid.FromString(f[3])
	if err != nil || (f[1] != "asc" && f[1] != "desc") || user.CheckKeyValue(p.Sort, f[2]) != nil {
		return user.Page{}, cursor.ErrInvalid
	}
	p.After = &user.Key{Value: f[2], ID: id}
	return p, nil
}

func parse(in Input) (user.Page, error) {
	p := user.Page{Sort: user.SortUpdatedAt, Descending: true, Limit: DefaultLimit}
	var fields []apperr.FieldError
	bad := func(field, msg string) { fields = append(fields, apperr.FieldError{Field: field, Message: msg}) }
	if in.Limit != "" {
		n, err := strconv.Atoi(in.Limit)
		if err != nil || n < 1 || n > MaxLimit {
			bad("limit", fmt.Sprintf("limit must be a whole number from 1 to %d", MaxLimit))
		}
		p.Limit = n
	}
	if in.Offset != "" {
		n, err := strconv.Atoi(in.Offset)
		if err != nil || n < 0 {
			bad("offset", "offset must be a whole number, 0 or more")
		}
		p.Offset = n
	}
	if in.Sort != "" {
		p.Sort = user.SortField(in.Sort)
		if !slices.Contains(user.SortFields, p.Sort) {
			names := make([]string, len(user.SortFields))
			for i, f := range user.SortFields {
				names[i] = string(f)
			}
			bad("sort", "sort must be one of "+strings.Join(names, ", "))
		}
	}
	switch in.Order {
	case "", "desc":
	case "asc":
		p.Descending = false
	default:
		bad("order", "order must be asc or desc")
	}
	if in.Cursor != "" {
		c, err := decodeCursor(in.Cursor)
		switch {
		case err != nil:
			bad("cursor", "cursor is malformed or altered; use next_cursor exactly as a page gave it")
		case in.Offset != "":
			bad("cursor", "cursor cannot be combined with offset")
		case in.Sort != "" && user.SortField(in.Sort) != c.Sort, in.Order != "" && in.Order != order(c.Descending):
			bad("cursor", fmt.Sprintf("this cursor continues sort=%s&order=%s; leave sort and order out or give those", c.Sort, order(c.Descending)))
		default:
			p.Sort, p.Descending, p.After = c.Sort, c.Descending, c.After
		}
	}
	for _, name := range in.Unknown {
		bad(name, "unknown parameter; use limit, offset, cursor, sort and order")
	}
	if len(fields) > 0 {
		return user.Page{}, apperr.Invalid(fields...)
	}
	return p, nil
}

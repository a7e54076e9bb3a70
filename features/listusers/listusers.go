// Package listusers lets admins page through all users.
package listusers

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/auth"
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
	Limit, Offset, Sort, Order string
	// Unknown names query parameters that mean nothing here.
	Unknown []string
}

// Result is one page and the number of all users.
type Result struct {
	Users  []user.User
	Total  int
	Limit  int
	Offset int
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
	users, total, err := i.store.ListUsers(ctx, page)
	if err != nil {
		return Result{}, fmt.Errorf("list users: %w", err)
	}
	return Result{Users: users, Total: total, Limit: page.Limit, Offset: page.Offset}, nil
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
	for _, name := range in.Unknown {
		bad(name, "unknown parameter; use limit, offset, sort and order")
	}
	if len(fields) > 0 {
		return user.Page{}, apperr.Invalid(fields...)
	}
	return p, nil
}

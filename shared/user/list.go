package user

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofrs/uuid/v5"
)

// SortField is a field users can be listed by.
type SortField string

// The sort fields.
const (
	SortUsername  SortField = "username"
	SortRole      SortField = "role"
	SortIsActive  SortField = "is_active"
	SortCreatedAt SortField = "created_at"
	SortUpdatedAt SortField = "updated_at"
)

// SortFields lists every sort field.
var SortFields = []SortField{SortUsername, SortRole, SortIsActive, SortCreatedAt, SortUpdatedAt}

// Page selects a page of the user list: ordered by Sort (ties broken by id
// in the same direction), Limit users after skipping Offset, or, when After
// is set, the Limit users that follow that key (keyset pagination: the cost
// of any page is the cost of the first).
type Page struct {
	Sort       SortField
	Descending bool
	Limit      int
	Offset     int
	After      *Key
}

// Key is a row's place in one sort order: its sort value as text (see
// SortValue) and its id, the tie-breaker.
type Key struct {
	Value string
	ID    uuid.UUID
}

// timeText is the text form of a time in a Key: RFC 3339, UTC, to the
// microsecond the databases keep.
const timeText = "2006-01-02T15:04:05.000000Z07:00"

// KeyOf returns u's key in the order of f. Usernames sort ignoring case, so
// their value is in lower case.
func KeyOf(u User, f SortField) Key {
	var v string
	switch f {
	case SortUsername:
		v = strings.ToLower(u.Username)
	case SortRole:
		v = string(u.Role)
	case SortIsActive:
		v = strconv.FormatBool(u.IsActive)
	case SortCreatedAt:
		v = u.CreatedAt.UTC().Format(timeText)
	case SortUpdatedAt:
		v = u.UpdatedAt.UTC().Format(timeText)
	}
	return Key{Value: v, ID: u.ID}
}

// CheckKeyValue reports whether v can be a sort value of f, as KeyOf makes
// them.
func CheckKeyValue(f SortField, v string) error {
	var err error
	switch f {
	case SortUsername:
		if v == "" || v != strings.ToLower(v) {
			err = fmt.Errorf("username %q", v)
		}
	case SortRole:
		if !Role(v).Valid() {
			err = fmt.Errorf("role %q", v)
		}
	case SortIsActive:
		_, err = strconv.ParseBool(v)
	case SortCreatedAt, SortUpdatedAt:
		_, err = KeyTime(v)
	default:
		err = fmt.Errorf("sort field %q", f)
	}
	return err
}

// KeyTime parses the value of a created_at or updated_at key.
func KeyTime(v string) (time.Time, error) {
	t, err := time.Parse(timeText, v)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

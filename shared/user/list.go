package user

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
// in the same direction), Limit users after skipping Offset.
type Page struct {
	Sort       SortField
	Descending bool
	Limit      int
	Offset     int
}

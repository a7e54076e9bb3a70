// Package apperr defines the one error type the domain uses. Each error has a
// Kind that the HTTP layer maps to a status code, and a stable snake_case Code
// that clients can rely on. Domain packages declare sentinel values of *Error
// and callers wrap them with fmt.Errorf("...: %w", err) and test with errors.Is.
package apperr

import (
	"errors"
	"time"
)

// Kind classifies an error for transports. It carries no HTTP knowledge; the
// HTTP layer owns the mapping from kinds to status codes.
type Kind int

// The error kinds, from the most to the least common.
const (
	KindInternal        Kind = iota // a bug or an unexpected fault; the cause is never shown
	KindInvalid                     // the input breaks a rule
	KindUnauthenticated             // no valid credentials
	KindForbidden                   // valid credentials, not allowed
	KindNotFound                    // the target does not exist
	KindConflict                    // the change clashes with existing state
	KindTooManyRequests             // throttled
	KindUnavailable                 // a dependency is down or saturated; retry later
	KindBadRequest                  // the request itself is malformed (not one field of it)
)

// FieldError names one input field that breaks a rule.
type FieldError struct {
	Field   string
	Message string
}

// Error is the domain's error type.
type Error struct {
	Kind    Kind
	Code    string       // stable snake_case identifier, e.g. "username_taken"
	Message string       // human-readable, lower case, safe to show to clients
	Fields  []FieldError // for KindInvalid: every failing field
	// RetryAfter, when positive, tells the client when trying again makes sense.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Message }

// Is makes errors.Is match two *Error values with the same kind and code, so a
// validation error built at run time still matches its sentinel.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Code == e.Code
}

// ErrUnavailable is the error the adapters wrap faults in when a dependency
// (the database, the password hasher) cannot serve the request now.
var ErrUnavailable = &Error{
	Kind:       KindUnavailable,
	Code:       "service_unavailable",
	Message:    "service temporarily unavailable",
	RetryAfter: time.Second,
}

// Invalid returns a validation error listing every failing field.
func Invalid(fields ...FieldError) *Error {
	return &Error{Kind: KindInvalid, Code: "validation_failed", Message: "the request breaks one or more rules", Fields: fields}
}

// ErrInvalid matches every error made by Invalid.
var ErrInvalid = Invalid()

// As returns the *Error inside err, if there is one.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

package httpserver

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
)

// Problem is an RFC 9457 problem details body, with two extension members:
// code, a stable snake_case identifier, and errors, the failing fields of a
// validation problem. It is also an error, so adapters can return one.
type Problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail,omitempty"`
	Code      string       `json:"code"`
	Errors    []FieldError `json:"errors,omitempty"`
	RequestID string       `json:"request_id,omitempty"`

	retryAfter time.Duration
}

// FieldError is one failing field of a validation problem.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (p *Problem) Error() string { return p.Code + ": " + p.Detail }

// StatusCode lets echo read the status of a *Problem.
func (p *Problem) StatusCode() int { return p.Status }

// NewProblem returns a problem with the given status, code and detail.
func NewProblem(status int, code, detail string) *Problem {
	return &Problem{Type: problemType(code), Title: http.StatusText(status), Status: status, Code: code, Detail: detail}
}

// ProblemTypePrefix prefixes every problem type URI; the code completes it.
const ProblemTypePrefix = "urn:cleanslice:problem:"

func problemType(code string) string { return ProblemTypePrefix + code }

var kindStatus = map[apperr.Kind]int{
	apperr.KindInternal:        http.StatusInternalServerError,
	apperr.KindInvalid:         http.StatusUnprocessableEntity,
	apperr.KindUnauthenticated: http.StatusUnauthorized,
	apperr.KindForbidden:       http.StatusForbidden,
	apperr.KindNotFound:        http.StatusNotFound,
	apperr.KindConflict:        http.StatusConflict,
	apperr.KindTooManyRequests: http.StatusTooManyRequests,
	apperr.KindUnavailable:     http.StatusServiceUnavailable,
	apperr.KindBadRequest:      http.StatusBadRequest,
}

// ProblemFor turns any error into the problem to send. Causes of 5xx are
// never shown: the body is generic and the log line carries the cause.
func ProblemFor(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	if e, ok := apperr.As(err); ok {
		status := kindStatus[e.Kind]
		if status == 0 || status == http.StatusInternalServerError {
			return internalProblem()
		}
		p := NewProblem(status, e.Code, e.Message)
		p.retryAfter = e.RetryAfter
		for _, f := range e.Fields {
			p.Errors = append(p.Errors, FieldError{Field: f.Field, Message: f.Message})
		}
		return p
	}
	if status := echo.StatusCode(err); status >= 400 && status < 500 {
		return NewProblem(status, statusCode(status), statusDetail(status))
	}
	if status := echo.StatusCode(err); status == http.StatusServiceUnavailable {
		return ProblemFor(apperr.ErrUnavailable)
	}
	if errors.Is(err, context.Canceled) {
		// The client went away; nobody reads this, but the log line says
		// what happened instead of reporting a server error.
		p := NewProblem(StatusClientClosedRequest, "client_closed_request", "the client closed the request")
		p.Title = "Client Closed Request"
		return p
	}
	return internalProblem()
}

// StatusClientClosedRequest is the status logged for a request whose client
// went away before the answer (nginx's convention).
const StatusClientClosedRequest = 499

func internalProblem() *Problem {
	return NewProblem(http.StatusInternalServerError, "internal", "an internal error occurred; quote the request id when reporting it")
}

// statusCode derives a snake_case code from a status: 404 -> not_found.
func statusCode(status int) string {
	switch status {
	case http.StatusRequestEntityTooLarge:
		return "body_too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	}
	return strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "_")
}

func statusDetail(status int) string {
	switch status {
	case http.StatusNotFound:
		return "no such resource"
	case http.StatusMethodNotAllowed:
		return "the resource does not support this method; see the Allow header"
	case http.StatusRequestEntityTooLarge:
		return "the request body is larger than 64 KiB"
	case http.StatusUnsupportedMediaType:
		return "the request body must be JSON (Content-Type: application/json)"
	}
	return strings.ToLower(http.StatusText(status))
}

// writeProblem sends p unless a response has already been sent.
func writeProblem(c *echo.Context, p *Problem) {
	if r, _ := echo.UnwrapResponse(c.Response()); r != nil && r.Committed {
		return
	}
	body := *p
	body.RequestID = RequestID(c)
	if body.retryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(body.retryAfter.Seconds()))))
	}
	b, err := json.Marshal(body)
	if err != nil { // cannot happen with these field types
		b = []byte(`{"type":"about:blank","title":"Internal Server Error","status":500,"code":"internal"}`)
	}
	if c.Request().Method == http.MethodHead {
		b = nil
	}
	_ = c.Blob(body.Status, "application/problem+json", b)
}

// ErrorHandler is echo's one error handler: every error becomes a problem.
// Logging is done once, by the request logger.
func ErrorHandler(c *echo.Context, err error) { writeProblem(c, ProblemFor(err)) }

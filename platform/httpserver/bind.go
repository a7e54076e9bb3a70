package httpserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode"

	"github.com/labstack/echo/v5"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 64 << 10

// StrictJSON is the echo.Binder handlers use through c.Bind: the body must
// be declared JSON and hold exactly one JSON value whose fields all exist in
// the target, with the right types, and no object may name a member twice
// (parsers disagree on which duplicate wins: a classic way past a check),
// in any case: encoding/json matches member names to fields ignoring case,
// so "username" and "USERNAME" are the same field.
// Every failure is a problem: 415 when the body is not JSON, 413 when it is
// too large, 400 otherwise.
type StrictJSON struct{}

// Bind decodes the request body into target.
func (StrictJSON) Bind(c *echo.Context, target any) error {
	r := c.Request()
	if !IsJSON(r.Header.Get("Content-Type")) {
		return NewProblem(http.StatusUnsupportedMediaType, "unsupported_media_type", statusDetail(http.StatusUnsupportedMediaType))
	}
	body, err := io.ReadAll(r.Body) // at most MaxBodyBytes: see limitBody
	if err != nil {
		return decodeProblem(err)
	}
	if name, dup := duplicateName(body); dup {
		return badRequest(fmt.Sprintf("member %q appears more than once in an object", name))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(target); err != nil {
		return decodeProblem(err)
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		if err != nil {
			if p := decodeProblem(err); p.Status == http.StatusRequestEntityTooLarge {
				return p
			}
		}
		return badRequest("the body must hold a single JSON object and nothing after it")
	}
	return nil
}

// duplicateName reports the first member name that appears twice in one
// object, at any depth. Malformed JSON is left to the decoder to report.
func duplicateName(body []byte) (string, bool) {
	type frame struct {
		names     map[string]bool // nil for an array
		expectKey bool
	}
	var stack []frame
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		top := len(stack) - 1
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{names: map[string]bool{}, expectKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:top]
			top--
		default:
			if top >= 0 && stack[top].names != nil && stack[top].expectKey {
				name, _ := tok.(string)
				folded := foldName(name)
				if stack[top].names[folded] {
					return name, true
				}
				stack[top].names[folded] = true
				stack[top].expectKey = false
				continue
			}
		}
		// A value ended: in an object, a name comes next.
		if top >= 0 && stack[top].names != nil {
			stack[top].expectKey = true
		}
	}
}

// foldName returns the form of a member name under which encoding/json's
// case-insensitive matching sees it: two names are one field exactly when
// their folded forms are equal.
func foldName(name string) string {
	return strings.Map(func(r rune) rune { return unicode.ToUpper(unicode.ToLower(r)) }, name)
}

// IsJSON reports whether a Content-Type header declares JSON.
func IsJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

func badRequest(detail string) *Problem {
	return NewProblem(http.StatusBadRequest, "bad_request", detail)
}

func decodeProblem(err error) *Problem {
	var (
		maxErr    *http.MaxBytesError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &maxErr):
		return NewProblem(http.StatusRequestEntityTooLarge, "body_too_large", statusDetail(http.StatusRequestEntityTooLarge))
	case errors.Is(err, io.EOF):
		return badRequest("the request body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("the JSON body ends too early")
	case errors.As(err, &syntaxErr):
		return badRequest(fmt.Sprintf("malformed JSON at byte %d: %v", syntaxErr.Offset, syntaxErr))
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return badRequest(fmt.Sprintf("the body must be a JSON object, not %s", typeErr.Value))
		}
		return badRequest(fmt.Sprintf("field %q must be %s, not %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequest(strings.TrimPrefix(err.Error(), "json: ") + " is not accepted")
	}
	return badRequest("cannot read the JSON body: " + err.Error())
}

// jsonKind names a Go kind the way a JSON client thinks of it.
func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	}
	return "a number"
}

// Package openapi serves the API's OpenAPI 3.1 document and Swagger UI. The
// document is written by hand in openapi.yaml, next to this file, and tests
// hold it to the route table and to every response the service sends; the
// one list it does not repeat, the audit event types, is filled in from
// audit.Types when it is loaded. The Swagger UI assets are embedded
// (github.com/swaggo/files/v2, a pinned swagger-ui build), so /docs works
// with no network.
package openapi

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v5"
	swaggerfiles "github.com/swaggo/files/v2"
	"go.yaml.in/yaml/v3"

	"github.com/cleanslice/cleanslice/shared/audit"
)

//go:embed openapi.yaml
var source []byte

//go:embed ui
var ui embed.FS

// Docs serves the document and the UI.
type Docs struct {
	json  []byte
	files fs.FS
}

// New converts the document to JSON once.
func New() (*Docs, error) {
	b, err := JSON()
	if err != nil {
		return nil, err
	}
	own, _ := fs.Sub(ui, "ui")
	return &Docs{json: b, files: overlay{own, swaggerfiles.FS}}, nil
}

// JSON returns the document as JSON, the audit event types filled in.
func JSON() ([]byte, error) { return document(source, audit.Types) }

// eventTypeSchema is the schema whose enum is the audit event types.
const eventTypeSchema = "AuditEventType"

// document converts src to JSON with the enum of eventTypeSchema set to
// types. The schema must exist and list no types of its own: the list is
// written once, in shared/audit.
func document(src []byte, types []audit.Type) ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	components, _ := doc["components"].(map[string]any)
	schemas, _ := components["schemas"].(map[string]any)
	schema, ok := schemas[eventTypeSchema].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("openapi.yaml: no schema %s to list the audit event types in", eventTypeSchema)
	}
	if _, ok := schema["enum"]; ok {
		return nil, fmt.Errorf("openapi.yaml: %s lists an enum; the types come from audit.Types", eventTypeSchema)
	}
	enum := make([]string, len(types))
	for i, t := range types {
		enum[i] = string(t)
	}
	schema["enum"] = enum
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return b, nil
}

// Spec answers GET /openapi.json.
func (d *Docs) Spec(c *echo.Context) error {
	return c.Blob(http.StatusOK, "application/json", d.json)
}

// UI answers GET /docs.
func (d *Docs) UI(c *echo.Context) error {
	page, err := fs.ReadFile(ui, "ui/index.html")
	if err != nil {
		return err
	}
	return c.HTMLBlob(http.StatusOK, page)
}

// Asset answers GET /docs/* with the UI's scripts, styles and icons.
func (d *Docs) Asset(c *echo.Context) error {
	name := c.Param("*")
	if info, err := fs.Stat(d.files, name); err != nil || info.IsDir() {
		return echo.ErrNotFound
	}
	http.ServeFileFS(c.Response(), c.Request(), d.files, name)
	return nil
}

// overlay serves files from the first FS that has them.
type overlay []fs.FS

func (o overlay) Open(name string) (fs.File, error) {
	for _, f := range o {
		if file, err := f.Open(name); err == nil {
			return file, nil
		}
	}
	return nil, fs.ErrNotExist
}

// Package openapi serves the API's OpenAPI 3.1 document and Swagger UI. The
// document is written by hand in openapi.yaml, next to this file, and tests
// hold it to the route table and to every response the service sends. The
// Swagger UI assets are embedded (github.com/swaggo/files/v2, a pinned
// swagger-ui build), so /docs works with no network.
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

// JSON returns the document as JSON.
func JSON() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(source, &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
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

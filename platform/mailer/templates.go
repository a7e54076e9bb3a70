// Package mailer renders and sends the service's mail: templates (embedded,
// overridable from a folder), the outbox adapter the slices queue messages
// through (in the transaction of their change), the delivery loop that
// sends due messages, and the transports (a log line in development, SMTP).
package mailer

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	texttemplate "text/template"
)

//go:embed templates
var embedded embed.FS

// Samples holds every template's fields, with sample values: what the
// start-up check renders each template with, and the fields a message of
// that template must give.
var Samples = map[string]map[string]string{
	"verify_email":          {"username": "alice.smith", "link": "http://localhost:8000/account/verify#token=sample", "valid_for": "24 hours"},
	"email_changed":         {"username": "alice.smith", "new_address": "alice@example.org"},
	"password_changed":      {"username": "alice.smith", "how": "by you"},
	"recovery":              {"username": "alice.smith", "link": "http://localhost:8000/account/recover#token=sample", "valid_for": "1 hour"},
	"second_factor_changed": {"username": "alice.smith", "what": "an authenticator app was added"},
	"account_deleted":       {"username": "alice.smith"},
	"identity_linked":       {"username": "alice.smith", "provider": "Google"},
	"identity_unlinked":     {"username": "alice.smith", "provider": "Google"},
	"api_key_created":       {"username": "alice.smith", "name": "deploy", "prefix": "cs_4fT9x0QzL", "scope": "read", "expires": "2027-01-31 12:00 UTC"},
}

// Templates renders messages: per template a subject and a text body
// (text/template) and an HTML body (html/template, escaped).
type Templates struct {
	subject, text map[string]*texttemplate.Template
	html          map[string]*htmltemplate.Template
}

// LoadTemplates parses the embedded templates, each file replaced by the
// one of the same name in dir when dir is set and holds it, and renders
// every template with its sample fields: a template that does not parse,
// names a field it is not given or is missing fails here, at start-up,
// never at delivery.
func LoadTemplates(dir string) (*Templates, error) {
	t := &Templates{subject: map[string]*texttemplate.Template{}, text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
	var errs []error
	for name, sample := range Samples {
		read := func(ext string) string {
			file := name + "." + ext
			if dir != "" {
				b, err := os.ReadFile(filepath.Join(dir, file))
				if err == nil {
					return string(b)
				}
				if !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, fmt.Errorf("mail.templates_dir: %w", err))
				}
			}
			b, err := embedded.ReadFile("templates/" + file)
			if err != nil {
				errs = append(errs, fmt.Errorf("mail template %s: %w", file, err))
			}
			return string(b)
		}
		var err error
		if t.subject[name], err = texttemplate.New(name + ".subject").Option("missingkey=error").Parse(strings.TrimSpace(read("subject"))); err != nil {
			errs = append(errs, err)
			continue
		}
		if t.text[name], err = texttemplate.New(name + ".txt").Option("missingkey=error").Parse(read("txt")); err != nil {
			errs = append(errs, err)
			continue
		}
		if t.html[name], err = htmltemplate.New(name + ".html").Option("missingkey=error").Parse(read("html")); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, _, _, err := t.Render(name, sample); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("mail templates: %w", err)
	}
	return t, nil
}

// Render returns the subject, text and HTML of template name with fields.
func (t *Templates) Render(name string, fields map[string]string) (subject, text, html string, err error) {
	st, ok := t.subject[name]
	if !ok {
		return "", "", "", fmt.Errorf("no mail template %q", name)
	}
	var s, tx, h bytes.Buffer
	if err := st.Execute(&s, fields); err != nil {
		return "", "", "", fmt.Errorf("mail template %s: %w", name, err)
	}
	if err := t.text[name].Execute(&tx, fields); err != nil {
		return "", "", "", fmt.Errorf("mail template %s: %w", name, err)
	}
	if err := t.html[name].Execute(&h, fields); err != nil {
		return "", "", "", fmt.Errorf("mail template %s: %w", name, err)
	}
	// A subject is one line, whatever a field holds.
	return strings.Join(strings.Fields(s.String()), " "), tx.String(), h.String(), nil
}

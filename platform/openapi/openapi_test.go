package openapi

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/cleanslice/cleanslice/shared/audit"
)

// eventTypes returns the enum of the audit event type schema in a JSON
// document.
func eventTypes(t *testing.T, b []byte) []audit.Type {
	t.Helper()
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Enum []audit.Type `json:"enum"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Components.Schemas[eventTypeSchema].Enum
}

// TestEventTypesAreAuditTypes: the document served lists exactly
// audit.Types, in order, as the event types.
func TestEventTypesAreAuditTypes(t *testing.T) {
	b, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	if got := eventTypes(t, b); !slices.Equal(got, audit.Types) {
		t.Fatalf("the document's event types %v, want audit.Types %v", got, audit.Types)
	}
	if len(audit.Types) < 10 {
		t.Fatalf("audit.Types has %d types", len(audit.Types))
	}
}

// TestEventTypesAreWrittenOnce: a document that lists types of its own, or
// has no schema to put them in, is refused rather than served stale.
func TestEventTypesAreWrittenOnce(t *testing.T) {
	types := []audit.Type{"a.one", "b.two"}
	b, err := document([]byte("components:\n  schemas:\n    AuditEventType:\n      type: string\n"), types)
	if err != nil || !slices.Equal(eventTypes(t, b), types) {
		t.Fatalf("document = %s, %v", b, err)
	}
	for name, src := range map[string]string{
		"a list of its own": "components:\n  schemas:\n    AuditEventType:\n      type: string\n      enum: [a.one]\n",
		"no such schema":    "components:\n  schemas:\n    EventType:\n      type: string\n",
		"no schemas":        "openapi: 3.1.0\n",
	} {
		if _, err := document([]byte(src), types); err == nil || !strings.Contains(err.Error(), eventTypeSchema) {
			t.Errorf("%s: %v, want an error naming %s", name, err, eventTypeSchema)
		}
	}
}

package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestPathsWithURICharacters: a file whose path holds ? # or % is that
// file, not a shorter path the file: URI would make of it (a test named
// sub#01 once shared one database with its namesakes).
func TestPathsWithURICharacters(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a#01.db", "b?x=1.db", "c%23.db"} {
		path := filepath.Join(dir, name)
		m, err := NewMigrator(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Up(); err != nil {
			t.Fatal(err)
		}
		m.Close()
		s, err := Open(context.Background(), path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".db" {
			names = append(names, e.Name())
		}
	}
	if len(names) != 3 {
		t.Fatalf("database files %v, want exactly the three named", names)
	}
}

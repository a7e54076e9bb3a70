package db

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestNewMigration(t *testing.T) {
	root := t.TempDir()
	for _, e := range []string{"postgres", "sqlite"} {
		if err := os.MkdirAll(filepath.Join(root, "db", "migrations", e), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	latest, err := LatestVersion("postgres")
	if err != nil {
		t.Fatal(err)
	}
	files, err := NewMigration(root, "add_widgets")
	if err != nil || len(files) != 4 {
		t.Fatalf("NewMigration = %v, %v", files, err)
	}
	want := filepath.Join(root, "db", "migrations", "sqlite", fmt.Sprintf("%06d_add_widgets.down.sql", latest+1))
	if files[3] != want {
		t.Errorf("last file %s, want %s", files[3], want)
	}
	if _, err := NewMigration(root, "add_widgets"); err == nil {
		t.Error("an existing migration was overwritten")
	}
	if _, err := NewMigration(root, "Add Widgets"); err == nil {
		t.Error("a bad name was accepted")
	}
}

// Package db embeds the SQL migrations, one folder per database engine.
// Both folders hold the same numbered steps so the engines keep one schema.
package db

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
)

//go:embed migrations
var migrations embed.FS

// Migrations returns the migration files for engine ("postgres" or "sqlite").
func Migrations(engine string) (fs.FS, error) {
	return fs.Sub(migrations, "migrations/"+engine)
}

// LatestVersion returns the number of the newest migration of engine.
func LatestVersion(engine string) (int, error) {
	files, err := Migrations(engine)
	if err != nil {
		return 0, err
	}
	ups, err := fs.Glob(files, "*.up.sql")
	if err != nil {
		return 0, err
	}
	return len(ups), nil
}

// NewMigration writes an empty, numbered up/down pair named name for every
// engine under root (the repository root) and returns the paths written.
func NewMigration(root, name string) ([]string, error) {
	if !validMigrationName.MatchString(name) {
		return nil, fmt.Errorf("migration name %q: use lower-case letters, digits and underscores", name)
	}
	latest, err := LatestVersion("postgres")
	if err != nil {
		return nil, err
	}
	base := fmt.Sprintf("%06d_%s", latest+1, name)
	var written []string
	for _, engine := range []string{"postgres", "sqlite"} {
		dir := filepath.Join(root, "db", "migrations", engine)
		for _, dir2 := range []string{"up", "down"} {
			path := filepath.Join(dir, base+"."+dir2+".sql")
			body := fmt.Sprintf("-- %s (%s): %s\n", base, engine, map[string]string{"up": "the change", "down": "undo exactly what up does"}[dir2])
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return written, err
			}
			_, err = f.WriteString(body)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return written, err
			}
			written = append(written, path)
		}
	}
	return written, nil
}

var validMigrationName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Package db embeds the SQL migrations, one folder per database engine.
// Both folders hold the same numbered steps so the engines keep one schema.
package db

import (
	"embed"
	"io/fs"
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

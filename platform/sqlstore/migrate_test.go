package sqlstore_test

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/cleanslice/cleanslice/db"
	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/postgres"
	"github.com/cleanslice/cleanslice/platform/sqlite"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
)

func newMigrator(t *testing.T, engine, url string) *sqlstore.Migrator {
	t.Helper()
	var (
		m   *sqlstore.Migrator
		err error
	)
	if engine == "sqlite" {
		m, err = sqlite.NewMigrator(strings.TrimPrefix(url, "sqlite:"))
	} else {
		m, err = postgres.NewMigrator(url)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestMigrationStairway runs every migration up, down and up again, one step
// at a time, on both engines: every step must be reversible.
func TestMigrationStairway(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			steps := countUpMigrations(t, engine)
			m := newMigrator(t, engine, dbtest.EmptyURL(t, engine))
			for i := 1; i <= steps; i++ {
				for _, step := range []int{1, -1, 1} {
					if err := m.Steps(step); err != nil {
						t.Fatalf("migration %d, step %+d: %v", i, step, err)
					}
				}
				v, dirty, applied, err := m.Version()
				if err != nil || dirty || !applied || int(v) != i {
					t.Fatalf("after migration %d: version %d dirty %v applied %v err %v", i, v, dirty, applied, err)
				}
			}
			if err := m.Down(steps); err != nil {
				t.Fatalf("all the way down: %v", err)
			}
			if _, _, applied, _ := m.Version(); applied {
				t.Fatal("a version is still recorded after migrating all the way down")
			}
		})
	}
}

func TestEnginesHaveTheSameMigrations(t *testing.T) {
	names := func(engine string) []string {
		files, err := db.Migrations(engine)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
			if !d.IsDir() {
				out = append(out, p)
			}
			return err
		})
		return out
	}
	pg, lite := strings.Join(names("postgres"), " "), strings.Join(names("sqlite"), " ")
	if pg != lite || pg == "" {
		t.Fatalf("migration files differ:\npostgres: %s\nsqlite:   %s", pg, lite)
	}
}

func countUpMigrations(t *testing.T, engine string) int {
	n, err := db.LatestVersion(engine)
	if err != nil || n == 0 {
		t.Fatalf("no migrations: %v", err)
	}
	return n
}

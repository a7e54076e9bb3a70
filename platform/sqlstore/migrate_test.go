package sqlstore_test

import (
	"io/fs"
	"regexp"
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

// TestPostgresIndexesAreBuiltConcurrently checks every PostgreSQL up
// migration against the rolling-deploy rule: an index on a table the file
// does not create is built CONCURRENTLY (a plain CREATE INDEX holds every
// write to the table off for the whole build, while old replicas serve),
// and a CONCURRENTLY statement is alone in its file (a file of several
// statements runs as one implicit transaction, where CONCURRENTLY fails).
func TestPostgresIndexesAreBuiltConcurrently(t *testing.T) {
	files, err := db.Migrations("postgres")
	if err != nil {
		t.Fatal(err)
	}
	ups, err := fs.Glob(files, "*.up.sql")
	if err != nil || len(ups) == 0 {
		t.Fatalf("no up migrations: %v", err)
	}
	index := regexp.MustCompile(`(?is)^CREATE\s+(?:UNIQUE\s+)?INDEX\s+(CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?\S+\s+ON\s+(?:ONLY\s+)?"?(\w+)`)
	table := regexp.MustCompile(`(?is)^CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"?(\w+)`)
	comment := regexp.MustCompile(`--[^\n]*`)
	for _, name := range ups {
		b, err := fs.ReadFile(files, name)
		if err != nil {
			t.Fatal(err)
		}
		var stmts []string
		for _, s := range strings.Split(comment.ReplaceAllString(string(b), ""), ";") {
			if s = strings.TrimSpace(s); s != "" {
				stmts = append(stmts, s)
			}
		}
		created := map[string]bool{}
		for _, s := range stmts {
			if m := table.FindStringSubmatch(s); m != nil {
				created[strings.ToLower(m[1])] = true
			}
		}
		for _, s := range stmts {
			m := index.FindStringSubmatch(s)
			switch {
			case m == nil:
			case m[1] == "" && !created[strings.ToLower(m[2])]:
				t.Errorf("%s: an index on %s, a table it does not create, without CONCURRENTLY: %s", name, m[2], s)
			case m[1] != "" && len(stmts) > 1:
				t.Errorf("%s: CONCURRENTLY in a file of %d statements (one implicit transaction): %s", name, len(stmts), s)
			}
		}
	}
}

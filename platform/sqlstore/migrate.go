package sqlstore

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database"
	"github.com/golang-migrate/migrate/v4/source/iofs"
)

// Migrator applies the embedded migrations of one engine.
type Migrator struct{ m *migrate.Migrate }

// NewMigrator combines a migration source and a golang-migrate database
// driver. Closing the Migrator closes the driver and the database it holds.
func NewMigrator(files fs.FS, engine string, driver database.Driver) (*Migrator, error) {
	src, err := iofs.New(files, ".")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, engine, driver)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return &Migrator{m: m}, nil
}

// Up applies every pending migration.
func (m *Migrator) Up() error { return m.done("up", m.m.Up()) }

// Down reverts the last n migrations.
func (m *Migrator) Down(n int) error {
	if n < 1 {
		return fmt.Errorf("migrate down: step count must be at least 1, not %d", n)
	}
	return m.done("down", m.m.Steps(-n))
}

// Steps moves n migrations up (n > 0) or down (n < 0).
func (m *Migrator) Steps(n int) error { return m.done("steps", m.m.Steps(n)) }

// Force sets the recorded version without running anything and clears the
// dirty flag, to recover from a migration that failed halfway.
func (m *Migrator) Force(version int) error { return m.done("force", m.m.Force(version)) }

// Version returns the applied version, whether it is dirty, and false when
// no migration has been applied.
func (m *Migrator) Version() (version uint, dirty, applied bool, err error) {
	version, dirty, err = m.m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return 0, false, false, nil
	}
	if err != nil {
		return 0, false, false, fmt.Errorf("migrate version: %w", err)
	}
	return version, dirty, true, nil
}

// Close releases the source and the database.
func (m *Migrator) Close() error {
	srcErr, dbErr := m.m.Close()
	return errors.Join(srcErr, dbErr)
}

func (m *Migrator) done(op string, err error) error {
	if err == nil || errors.Is(err, migrate.ErrNoChange) {
		return nil
	}
	var dirty migrate.ErrDirty
	if errors.As(err, &dirty) {
		return fmt.Errorf("migrate %s: database is dirty at version %d: a migration failed halfway; fix the schema by hand, then run `cleanslice migrate force %d` (the last version that is fully applied)", op, dirty.Version, dirty.Version-1)
	}
	return fmt.Errorf("migrate %s: %w", op, err)
}

package postgres

import "database/sql"

// OpenWithSetup opens a pool on dsn whose transactions begin with setup.
func OpenWithSetup(dsn, setup string) (*sql.DB, error) { return openDB(dsn, 0, setup) }

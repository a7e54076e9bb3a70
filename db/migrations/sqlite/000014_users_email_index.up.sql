-- Nothing: SQLite builds the index in 000013 (a single-node database has no
-- old replicas serving during a migration); PostgreSQL builds it here.
SELECT 1;

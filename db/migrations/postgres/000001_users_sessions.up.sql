CREATE TABLE users (
    id            uuid        PRIMARY KEY,
    -- "C": byte order, as on SQLite, whatever the database's collation.
    username      text        COLLATE "C" NOT NULL,
    password_hash text        NOT NULL,
    role          text        COLLATE "C" NOT NULL CHECK (role IN ('user', 'admin', 'super_admin')),
    is_active     boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

-- Usernames are unique regardless of case and stored as typed.
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));

CREATE TABLE sessions (
    -- SHA-256 of the session secret; the secret itself never reaches the database.
    id                  bytea       PRIMARY KEY CHECK (octet_length(id) = 32),
    user_id             uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at          timestamptz NOT NULL,
    expires_at          timestamptz NOT NULL,
    absolute_expires_at timestamptz NOT NULL,
    last_seen_at        timestamptz NOT NULL
);

CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

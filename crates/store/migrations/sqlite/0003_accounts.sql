-- Accounts of the portal: local (password) or from an identity provider.
CREATE TABLE users (
    id             INTEGER PRIMARY KEY NOT NULL,
    email          TEXT NOT NULL UNIQUE,     -- lower-cased
    name           TEXT NOT NULL,
    password_hash  TEXT,                     -- argon2id PHC string; NULL: no local password
    is_admin       INTEGER NOT NULL,         -- 0/1: platform admin
    status         TEXT NOT NULL,            -- active | pending | disabled
    created_at     INTEGER NOT NULL          -- seconds since the Unix epoch
);

-- Signed-in sessions; only a hash of the cookie's secret is kept.
CREATE TABLE sessions (
    id_hash     TEXT PRIMARY KEY NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf        TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- A room may have an owner (rooms made before accounts, or by the API, have none).
ALTER TABLE rooms ADD COLUMN owner_id INTEGER REFERENCES users (id) ON DELETE SET NULL;
CREATE INDEX rooms_owner ON rooms (owner_id);

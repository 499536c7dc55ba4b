-- Seats: a join token admits one seat. Whoever connects with it holds the seat (a reload takes
-- it over); limits count held seats. Kept here so any node sees them, until the token expires.
CREATE TABLE seats (
    id          TEXT PRIMARY KEY NOT NULL,   -- the token's seat id
    room_id     TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    expires_at  BIGINT NOT NULL,            -- the token's expiry, seconds since the epoch
    holder      TEXT,                        -- '<node>:<participant>' holding it; NULL: free
    held_since  BIGINT
);
CREATE INDEX seats_room ON seats (room_id, holder);
CREATE INDEX seats_expiry ON seats (expires_at);

-- Rooms made without an account (only under room_creation = anyone) expire when unused.
ALTER TABLE rooms ADD COLUMN anonymous BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN last_used_at BIGINT;

-- API tokens an admin made for scripts (shown once; only a hash is kept). A request with one
-- acts as its account.
CREATE TABLE api_tokens (
    id            BIGSERIAL PRIMARY KEY,
    token_hash    TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    user_id       BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- An organisation's admin asked an account to join; it becomes a member only once that account
-- accepts (a platform admin adds directly).
CREATE TABLE org_requests (
    org_id      BIGINT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    is_admin    BIGINT NOT NULL,
    invited_by  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_requests_user ON org_requests (user_id);

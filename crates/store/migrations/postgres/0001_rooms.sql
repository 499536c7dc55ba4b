-- Rooms: a persistent link people meet in.
CREATE TABLE rooms (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL  -- seconds since the Unix epoch, UTC
);
CREATE INDEX rooms_created_at ON rooms (created_at);

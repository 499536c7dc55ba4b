-- Member organisations (co-ops): their limits and their people.
CREATE TABLE organisations (
    id                    INTEGER PRIMARY KEY NOT NULL,
    name                  TEXT NOT NULL UNIQUE,
    max_rooms_per_member  INTEGER,              -- NULL: no limit
    max_participants      INTEGER,              -- per meeting in a member's room; NULL: no limit
    created_at            INTEGER NOT NULL
);

CREATE TABLE org_members (
    org_id   INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    is_admin INTEGER NOT NULL,                  -- 0/1: administers this organisation
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_members_user ON org_members (user_id);

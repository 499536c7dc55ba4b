-- Member organisations (co-ops): their limits and their people.
CREATE TABLE organisations (
    id                    BIGSERIAL PRIMARY KEY,
    name                  TEXT NOT NULL UNIQUE,
    max_rooms_per_member  BIGINT,              -- NULL: no limit
    max_participants      BIGINT,              -- per meeting in a member's room; NULL: no limit
    created_at            BIGINT NOT NULL
);

CREATE TABLE org_members (
    org_id   BIGINT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    user_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    is_admin BIGINT NOT NULL,                  -- 0/1: administers this organisation
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_members_user ON org_members (user_id);

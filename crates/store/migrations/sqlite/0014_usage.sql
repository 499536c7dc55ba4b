-- The usage ledger: what happened, written as it happened (append-only; events older than the
-- retention setting are deleted). No names: a person is a keyed pseudonym, the same across
-- meetings but unreadable without the server's key. Kinds: meeting_started, meeting_ended,
-- joined, left, recording_stored, recording_deleted. A closing event (meeting_ended, left)
-- repeats its opening event's columns and says when it opened (since_ms).
CREATE TABLE usage_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms       BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    room_id     TEXT NOT NULL,
    meeting_ms  BIGINT NOT NULL,              -- the meeting (its start) within the room
    since_ms    BIGINT,                        -- closing events: when it opened
    person      BIGINT,                        -- joined, left: the person's pseudonym
    role        TEXT,
    member      BIGINT,                        -- signed in (1) or guest (0)
    client      TEXT,                          -- the kind of client (browser family, bbb…)
    room_orgs   TEXT NOT NULL DEFAULT '',      -- the room's organisations then: ',1,4,'
    person_orgs TEXT NOT NULL DEFAULT '',      -- the person's, when signed in
    node        TEXT NOT NULL DEFAULT '',
    region      TEXT NOT NULL DEFAULT '',
    bytes       BIGINT,                        -- recordings
    ref         TEXT,                          -- the recording's id
    meeting_key BIGINT NOT NULL DEFAULT 0      -- (room, meeting) as one number, for reports
);
CREATE INDEX usage_events_at ON usage_events (at_ms);
CREATE INDEX usage_events_kind_at ON usage_events (kind, at_ms);

-- The longest span a closing event ever recorded (ms): a report of a period reads closing
-- events up to that long after it, not every later event.
CREATE TABLE usage_longest (
    id       BIGINT PRIMARY KEY,             -- always 1
    span_ms  BIGINT NOT NULL
);
INSERT INTO usage_longest (id, span_ms) VALUES (1, 0);

-- What is open now: a running meeting, a person in it. Closed (row deleted, closing event
-- written) in one transaction. A node's run that died leaves rows that are closed at their
-- alive_ms (renewed every minute) by its next start, or by any node once stale.
CREATE TABLE usage_open (
    key       TEXT PRIMARY KEY,               -- '<node>/<run>:…'
    event_id  BIGINT NOT NULL,                -- the opening event
    alive_ms  BIGINT NOT NULL
);

-- An organisation's usage options (no row: defaults, attendance not kept).
CREATE TABLE org_usage_policy (
    org_id           INTEGER PRIMARY KEY REFERENCES organisations (id) ON DELETE CASCADE,
    keep_attendance  BIGINT NOT NULL DEFAULT 0
);

-- Who attended which meeting, kept only for organisations that chose to (keep_attendance);
-- seen by that organisation's admins and by the person.
CREATE TABLE usage_attendance (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id      BIGINT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    room_id     TEXT NOT NULL,
    room_name   TEXT NOT NULL,
    meeting_ms  BIGINT NOT NULL,
    account_id  BIGINT REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    joined_ms   BIGINT NOT NULL,
    left_ms     BIGINT NOT NULL
);
CREATE INDEX usage_attendance_org ON usage_attendance (org_id, joined_ms);
-- A retried write after a commit whose answer was lost is written once.
CREATE UNIQUE INDEX usage_attendance_once ON usage_attendance (org_id, room_id, meeting_ms, joined_ms, name);
CREATE INDEX usage_attendance_account ON usage_attendance (account_id, joined_ms);

-- Read-only tokens for an organisation's usage reports (boards, funders): only a hash is kept.
CREATE TABLE usage_tokens (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id        BIGINT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    token_hash    TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX usage_tokens_org ON usage_tokens (org_id);

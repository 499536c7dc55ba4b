-- Meetings created through the BigBlueButton-compatible API: one row per session. The
-- session's parameters are a JSON document owned by the server's adapter.
CREATE TABLE api_meetings (
    internal_id  TEXT PRIMARY KEY NOT NULL,  -- sha1(meetingID) "-" createTime
    meeting_id   TEXT NOT NULL,              -- the integration's own id
    created_ms   BIGINT NOT NULL,
    ended_ms     BIGINT,                     -- NULL while the session lives
    doc          TEXT NOT NULL
);
CREATE INDEX api_meetings_live ON api_meetings (ended_ms, meeting_id);

-- Webhook registrations (bbb-webhooks' hooks/create), kept across restarts.
CREATE TABLE webhooks (
    id            BIGSERIAL PRIMARY KEY,
    callback_url  TEXT NOT NULL UNIQUE,
    meeting_id    TEXT,                      -- NULL: every meeting
    event_ids     TEXT,                      -- comma list; NULL: every event
    raw           BIGINT NOT NULL,           -- 0/1
    created_ms    BIGINT NOT NULL
);

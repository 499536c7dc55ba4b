-- Call quality: what each participant's client measured of its connection, every 10 s, per
-- meeting (a room and its meeting's start), kept for the retention setting (default 30 days)
-- and bounded per participant and meeting by the writer. Shares are per mille, times in ms.
CREATE TABLE call_quality (
    id              BIGSERIAL PRIMARY KEY,
    room_id         TEXT NOT NULL,
    meeting_ms      BIGINT NOT NULL,
    participant     BIGINT NOT NULL,
    name            TEXT NOT NULL,
    at_ms           BIGINT NOT NULL,
    loss_in         BIGINT,
    loss_out        BIGINT,
    jitter_ms       BIGINT,
    rtt_ms          BIGINT,
    kbps_in         BIGINT,
    kbps_out        BIGINT,
    frames_decoded  BIGINT,
    frames_dropped  BIGINT,
    limitation      TEXT,
    candidate       TEXT,
    protocol        TEXT,
    reconnects      BIGINT
);
CREATE INDEX call_quality_meeting ON call_quality (room_id, meeting_ms, participant, at_ms);
CREATE INDEX call_quality_at ON call_quality (at_ms);

-- Problems people reported from a meeting, with what their client last measured.
CREATE TABLE problem_reports (
    id           BIGSERIAL PRIMARY KEY,
    room_id      TEXT NOT NULL,
    meeting_ms   BIGINT NOT NULL,
    participant  BIGINT NOT NULL,
    name         TEXT NOT NULL,
    account_id   BIGINT,
    at_ms        BIGINT NOT NULL,
    note         TEXT NOT NULL,
    diagnostics  TEXT NOT NULL           -- the last quality report, as JSON
);
CREATE INDEX problem_reports_at ON problem_reports (at_ms);
CREATE INDEX problem_reports_meeting ON problem_reports (room_id, meeting_ms);

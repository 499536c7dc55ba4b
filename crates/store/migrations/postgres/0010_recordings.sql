-- Recordings, and the queue of their composition: a recording in state 'processing' is a job
-- a worker claims by taking a lease (lease_until); a worker that dies loses its lease and the
-- job is taken again. States: recording -> processing -> ready | failed.
-- No foreign key to rooms: a room's deletion must delete the recordings' files first.
CREATE TABLE recordings (
    id           TEXT PRIMARY KEY,         -- sha1(meeting id)-started ms, like BigBlueButton
    room_id      TEXT NOT NULL,
    meeting_id   TEXT NOT NULL,            -- the BBB meetingID, else the room id
    meeting_ms   BIGINT NOT NULL,         -- the meeting (within its room) it is of
    name         TEXT NOT NULL,
    started_ms   BIGINT NOT NULL,
    ended_ms     BIGINT,
    length_ms    BIGINT NOT NULL DEFAULT 0,
    state        TEXT NOT NULL,
    published    BIGINT NOT NULL DEFAULT 1,
    protected    BIGINT NOT NULL DEFAULT 0,
    meta         TEXT NOT NULL DEFAULT '{}', -- BBB meta_* parameters, a JSON object
    folder       TEXT NOT NULL,            -- where its files are, within the recordings storage
    bytes        BIGINT NOT NULL DEFAULT 0,
    progress     BIGINT NOT NULL DEFAULT 0, -- composition, per mille
    error        TEXT,
    attempts     BIGINT NOT NULL DEFAULT 0,
    lease_until  BIGINT
);
CREATE INDEX recordings_room ON recordings (room_id, started_ms);
CREATE INDEX recordings_meeting ON recordings (meeting_id);
CREATE INDEX recordings_state ON recordings (state);

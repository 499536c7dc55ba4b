-- A meeting's shared minutes, kept with its room (deleted with it): a Yjs document (CRDT),
-- stored as its compacted state plus the edits that came since, in order. A meeting is
-- identified within its room by when it started (meeting_ms), as for its polls.
CREATE TABLE minutes (
    room_id     TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    meeting_ms  BIGINT NOT NULL,
    state       BYTEA NOT NULL,           -- the document up to the last compaction (Yjs update, v1 encoding)
    compacted_seq BIGINT NOT NULL DEFAULT 0, -- the last edit the state holds
    updated_ms  BIGINT NOT NULL,
    PRIMARY KEY (room_id, meeting_ms)
);

-- Each edit acknowledged since the last compaction (a Yjs update), in the order it was taken.
CREATE TABLE minutes_edits (
    room_id     TEXT NOT NULL,
    meeting_ms  BIGINT NOT NULL,
    seq         BIGINT NOT NULL,
    body        BYTEA NOT NULL,
    PRIMARY KEY (room_id, meeting_ms, seq),
    FOREIGN KEY (room_id, meeting_ms) REFERENCES minutes (room_id, meeting_ms) ON DELETE CASCADE
);

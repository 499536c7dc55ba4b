-- A meeting's polls, kept with its room (deleted with it). A meeting is identified within its
-- room by when it started (meeting_ms), as for its chat.
CREATE TABLE polls (
    room_id     TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    meeting_ms  BIGINT NOT NULL,
    id          BIGINT NOT NULL,        -- increasing within the meeting
    spec        TEXT NOT NULL,           -- what was asked, as JSON (the protocol's PollSpec)
    by_name     TEXT NOT NULL,           -- the moderator who asked
    opened_ms   BIGINT NOT NULL,
    closes_ms   BIGINT,                 -- its timer
    closed_ms   BIGINT,                 -- NULL: open (a meeting's end, or its node's next start, closes it)
    node        TEXT NOT NULL,           -- the node run it was asked on (`<node>/<run>:`)
    PRIMARY KEY (room_id, meeting_ms, id)
);

-- Who voted: one row per person and poll (the key is their account, their integration's user
-- id, else their seat), so a second device's vote is refused by the key. For a secret poll,
-- choices is NULL: no column here links a person to a choice. (The database's history -- row
-- versions not yet vacuumed, its write-ahead log -- can, while the poll runs and a while after:
-- whoever can read the database's files is trusted with more than this already.)
CREATE TABLE poll_votes (
    room_id     TEXT NOT NULL,
    meeting_ms  BIGINT NOT NULL,
    poll_id     BIGINT NOT NULL,
    voter       TEXT NOT NULL,
    name        TEXT NOT NULL,
    choices     TEXT,                    -- option indices, comma-separated; NULL when secret
    PRIMARY KEY (room_id, meeting_ms, poll_id, voter),
    FOREIGN KEY (room_id, meeting_ms, poll_id) REFERENCES polls (room_id, meeting_ms, id) ON DELETE CASCADE
);

-- The counts per option: a row for every option from the start, and every vote rewrites all of
-- a poll's rows (adding 0 or 1), so no row's version tells which option a vote chose.
CREATE TABLE poll_counts (
    room_id     TEXT NOT NULL,
    meeting_ms  BIGINT NOT NULL,
    poll_id     BIGINT NOT NULL,
    choice      BIGINT NOT NULL,
    votes       BIGINT NOT NULL,
    PRIMARY KEY (room_id, meeting_ms, poll_id, choice),
    FOREIGN KEY (room_id, meeting_ms, poll_id) REFERENCES polls (room_id, meeting_ms, id) ON DELETE CASCADE
);

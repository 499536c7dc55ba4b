-- A meeting's polls, kept with its room (deleted with it). A meeting is identified within its
-- room by when it started (meeting_ms), as for its chat.
CREATE TABLE polls (
    room_id     TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    meeting_ms  INTEGER NOT NULL,
    id          INTEGER NOT NULL,        -- increasing within the meeting
    spec        TEXT NOT NULL,           -- what was asked, as JSON (the protocol's PollSpec)
    by_name     TEXT NOT NULL,           -- the moderator who asked
    opened_ms   INTEGER NOT NULL,
    closes_ms   INTEGER,                 -- its timer
    closed_ms   INTEGER,                 -- NULL: open (a meeting's end, or its node's next start, closes it)
    node        TEXT NOT NULL,           -- the node run it was asked on (`<node>/<run>:`)
    PRIMARY KEY (room_id, meeting_ms, id)
);

-- Who voted: one row per person and poll (the key is their account, their integration's user
-- id, else their seat), so a second device's vote is refused by the key. For a secret poll,
-- choices is NULL: no column here links a person to a choice. (The database's history -- row
-- versions not yet vacuumed, its write-ahead log -- can, while the poll runs and a while after:
-- whoever can read the database's files is trusted with more than this already.) Without a rowid, rows keep no
-- order of arrival (which the counts' first appearance could otherwise be matched against).
CREATE TABLE poll_votes (
    room_id     TEXT NOT NULL,
    meeting_ms  INTEGER NOT NULL,
    poll_id     INTEGER NOT NULL,
    voter       TEXT NOT NULL,
    name        TEXT NOT NULL,
    choices     TEXT,                    -- option indices, comma-separated; NULL when secret
    PRIMARY KEY (room_id, meeting_ms, poll_id, voter),
    FOREIGN KEY (room_id, meeting_ms, poll_id) REFERENCES polls (room_id, meeting_ms, id) ON DELETE CASCADE
) WITHOUT ROWID;

-- The counts per option: a row for every option from the start, and every vote rewrites all of
-- a poll's rows (adding 0 or 1), so no row's version tells which option a vote chose.
CREATE TABLE poll_counts (
    room_id     TEXT NOT NULL,
    meeting_ms  INTEGER NOT NULL,
    poll_id     INTEGER NOT NULL,
    choice      INTEGER NOT NULL,
    votes       INTEGER NOT NULL,
    PRIMARY KEY (room_id, meeting_ms, poll_id, choice),
    FOREIGN KEY (room_id, meeting_ms, poll_id) REFERENCES polls (room_id, meeting_ms, id) ON DELETE CASCADE
) WITHOUT ROWID;

-- A meeting's chat, kept with its room (recordings and exports will read it; deleted with the
-- room). A meeting is identified within its room by when it started (meeting_ms).
CREATE TABLE chat_messages (
    room_id         TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    meeting_ms      BIGINT NOT NULL,
    id              BIGINT NOT NULL,        -- increasing within the meeting
    sender          BIGINT,                 -- participant id; NULL: posted by an integration
    name            TEXT NOT NULL,
    to_kind         TEXT NOT NULL,           -- everyone | moderators | participant
    to_participant  BIGINT,
    body            TEXT NOT NULL,
    at_ms           BIGINT NOT NULL,
    deleted_ms      BIGINT,                 -- a moderator deleted it
    PRIMARY KEY (room_id, meeting_ms, id)
);

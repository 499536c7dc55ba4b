-- Where a membership comes from: 'manual' (set by an admin) or 'sso:<provider id>' (a mapping
-- rule, re-applied at each sign-in through that provider).
ALTER TABLE org_members ADD COLUMN source TEXT NOT NULL DEFAULT 'manual';

-- Accounts linked to an identity provider's subject, with what the last sign-in saw.
CREATE TABLE identities (
    provider        TEXT NOT NULL,
    subject         TEXT NOT NULL,
    user_id         BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    explanation     TEXT NOT NULL,          -- JSON: the claims seen and each rule's outcome
    last_signin_at  BIGINT NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX identities_user ON identities (user_id);

-- Rooms shared with other accounts, who co-own them (moderate, change settings).
CREATE TABLE room_shares (
    room_id  TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_shares_user ON room_shares (user_id);

-- The longest a meeting in a member's room may last, in minutes (NULL: no limit).
ALTER TABLE organisations ADD COLUMN max_meeting_minutes BIGINT;

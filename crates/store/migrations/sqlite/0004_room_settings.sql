-- A room's settings (waiting room, access codes, mute on join…) as a JSON document owned by
-- the server; '{}' means the defaults.
ALTER TABLE rooms ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';

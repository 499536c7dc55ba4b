-- Whether a recording's files were moved to the object storage (PLENARY_RECORDINGS_URL)
-- after composition; 0: they are in the local recordings folder.
ALTER TABLE recordings ADD COLUMN remote INTEGER NOT NULL DEFAULT 0;

-- Whether an integration's recording-ready callback (meta_bbb-recording-ready-url) was
-- delivered (or given up on): one interrupted by a restart is sent again at the next start.
-- Recordings finished before this column existed count as notified.
ALTER TABLE recordings ADD COLUMN ready_notified INTEGER NOT NULL DEFAULT 0;
UPDATE recordings SET ready_notified = 1 WHERE state IN ('ready', 'failed');

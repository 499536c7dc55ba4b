-- An organisation's recording rules (no row: allowed, the site's retention and quota).
CREATE TABLE org_recording_policy (
    org_id          INTEGER PRIMARY KEY REFERENCES organisations (id) ON DELETE CASCADE,
    allowed         INTEGER NOT NULL DEFAULT 1,
    retention_days  INTEGER,                 -- NULL: the site's default
    quota_bytes     INTEGER                  -- NULL: the site's default
);

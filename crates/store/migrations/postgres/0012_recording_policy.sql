-- An organisation's recording rules (no row: allowed, the site's retention and quota).
CREATE TABLE org_recording_policy (
    org_id          BIGINT PRIMARY KEY REFERENCES organisations (id) ON DELETE CASCADE,
    allowed         BIGINT NOT NULL DEFAULT 1,
    retention_days  BIGINT,                 -- NULL: the site's default
    quota_bytes     BIGINT                  -- NULL: the site's default
);

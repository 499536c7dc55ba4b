-- The operators' view and the public status page. A node's load, sampled every minute (kept
-- for the history's length; older samples are deleted by the node that wrote them).
CREATE TABLE status_samples (
    node          TEXT NOT NULL,
    at_ms         BIGINT NOT NULL,
    region        TEXT NOT NULL,
    cpu           BIGINT,                   -- the machine's CPU busy share, percent
    process_cpu   BIGINT,                   -- this process's, percent of one core
    rss_bytes     BIGINT,
    meetings      BIGINT NOT NULL,
    participants  BIGINT NOT NULL,
    bits_in       BIGINT NOT NULL,          -- media, per second over the minute
    bits_out      BIGINT NOT NULL,
    packets_in    BIGINT NOT NULL,
    packets_out   BIGINT NOT NULL,
    loss_permille BIGINT,                   -- participants' mean loss (the worse direction)
    near_capacity BIGINT NOT NULL DEFAULT 0,
    refused       BIGINT NOT NULL DEFAULT 0, -- joins refused for capacity in the minute
    errors        BIGINT NOT NULL DEFAULT 0, -- errors logged in the minute
    PRIMARY KEY (node, at_ms)
);
CREATE INDEX status_samples_at ON status_samples (at_ms);

-- Each start of a node (its restarts), and how it stopped: cleanly (stopped_ms), or not.
CREATE TABLE node_runs (
    id          BIGSERIAL PRIMARY KEY,
    node        TEXT NOT NULL,
    run         TEXT NOT NULL,
    version     TEXT NOT NULL,
    started_ms  BIGINT NOT NULL,
    stopped_ms  BIGINT
);
CREATE INDEX node_runs_started ON node_runs (started_ms);

-- Incidents and maintenance notices posted by platform admins, shown on /status and its feed.
CREATE TABLE status_notices (
    id           BIGSERIAL PRIMARY KEY,
    kind         TEXT NOT NULL,            -- incident, maintenance
    severity     TEXT NOT NULL,            -- degraded, down (what the region is while it lasts)
    region       TEXT NOT NULL DEFAULT '', -- '': every region
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    starts_ms    BIGINT NOT NULL,
    ends_ms      BIGINT,                   -- resolved / over; NULL: ongoing
    created_ms   BIGINT NOT NULL,
    updated_ms   BIGINT NOT NULL,
    author       TEXT NOT NULL
);
CREATE INDEX status_notices_starts ON status_notices (starts_ms);

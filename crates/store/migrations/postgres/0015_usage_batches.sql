-- The ledger's batches already written, by id ('<node>/<run>:b<n>'): a batch tried again after a
-- commit whose answer was lost (a meeting opened and closed in it, say) is written once. Kept
-- a day (the ledger renews its open rows every minute and deletes older batch ids then).
CREATE TABLE usage_batches (
    id     TEXT PRIMARY KEY,
    at_ms  BIGINT NOT NULL
);
CREATE INDEX usage_batches_at ON usage_batches (at_ms);

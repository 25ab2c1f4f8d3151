-- Stored tree hashes in tiles of 256 consecutive indexes, one row each (the hashes
-- end to end), instead of a row per hash: a tree stores about two hashes per audit
-- record, and a row each nearly doubled the rows written per record. Trees regrow
-- from the audit records into tiles, to the same roots; checkpoints are kept.
-- Idempotent.

CREATE TABLE IF NOT EXISTS audit_tree_tiles (
    chain  TEXT   NOT NULL,
    tile   BIGINT NOT NULL,
    hashes BYTEA  NOT NULL CHECK (length(hashes) % 32 = 0 AND length(hashes) <= 8192),
    PRIMARY KEY (chain, tile)
);

DROP TABLE IF EXISTS audit_tree_hashes;
TRUNCATE audit_tree_sizes;

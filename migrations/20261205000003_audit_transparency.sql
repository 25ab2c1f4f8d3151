-- Each audit chain's Merkle tree (RFC 6962, stored hashes in Go sumdb/tlog order)
-- and the signed checkpoints issued over it. Idempotent.

CREATE TABLE IF NOT EXISTS audit_tree_sizes (
    chain TEXT   PRIMARY KEY,
    size  BIGINT NOT NULL CHECK (size > 0)
);

CREATE TABLE IF NOT EXISTS audit_tree_hashes (
    chain TEXT   NOT NULL,
    idx   BIGINT NOT NULL,
    hash  BYTEA  NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (chain, idx)
);

CREATE TABLE IF NOT EXISTS audit_checkpoints (
    chain     TEXT        NOT NULL,
    size      BIGINT      NOT NULL,
    root      BYTEA       NOT NULL CHECK (length(root) = 32),
    note      TEXT        NOT NULL,
    issued_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (chain, size)
);

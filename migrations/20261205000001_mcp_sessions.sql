-- MCP sessions the gateway issues (Mcp-Session-Id), shared by every replica.
-- Idempotent: safe to apply to an existing database.

CREATE TABLE IF NOT EXISTS mcp_sessions (
    id               TEXT        PRIMARY KEY,
    tenant           TEXT        NOT NULL DEFAULT '',
    subject          TEXT        NOT NULL DEFAULT '',
    root_jti         TEXT        NOT NULL DEFAULT '',
    upstream_id      TEXT,
    protocol_version TEXT        NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS mcp_sessions_expires_idx ON mcp_sessions (expires_at);
CREATE INDEX IF NOT EXISTS mcp_sessions_owner_idx ON mcp_sessions (tenant, subject, root_jti, created_at DESC);

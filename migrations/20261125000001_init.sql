-- IntentGate schema v1. Idempotent: safe to apply to an existing database.
-- Timestamps are TIMESTAMPTZ (microseconds); every hashed field has its own column.
-- A chain's head is its row with the highest seq; the (chain, seq) primary key is what
-- stops two writers from extending the same head (no separate, hot head row).

CREATE TABLE IF NOT EXISTS audit_events (
    chain                    TEXT        NOT NULL,
    seq                      BIGINT      NOT NULL,
    prev_hash                TEXT        NOT NULL,
    hash                     TEXT        NOT NULL,
    ts                       TIMESTAMPTZ NOT NULL,
    event_name               TEXT        NOT NULL,
    schema_version           TEXT        NOT NULL,
    decision                 TEXT        NOT NULL,
    check_stage              TEXT        NOT NULL DEFAULT '',
    reason                   TEXT        NOT NULL DEFAULT '',
    tenant                   TEXT        NOT NULL DEFAULT '',
    agent_id                 TEXT        NOT NULL DEFAULT '',
    session_id               TEXT        NOT NULL DEFAULT '',
    tool                     TEXT        NOT NULL DEFAULT '',
    arg_keys                 JSONB       NOT NULL DEFAULT '[]',
    arg_values               JSONB,
    capability_token_id      TEXT        NOT NULL DEFAULT '',
    root_capability_token_id TEXT        NOT NULL DEFAULT '',
    caveat_count             BIGINT      NOT NULL DEFAULT 0,
    pending_id               TEXT        NOT NULL DEFAULT '',
    decided_by               TEXT        NOT NULL DEFAULT '',
    intent_summary           TEXT        NOT NULL DEFAULT '',
    latency_ms               BIGINT      NOT NULL DEFAULT 0,
    remote_ip                TEXT        NOT NULL DEFAULT '',
    upstream_status          BIGINT      NOT NULL DEFAULT 0,
    requires_step_up         BOOLEAN     NOT NULL DEFAULT FALSE,
    elevation_id             TEXT        NOT NULL DEFAULT '',
    PRIMARY KEY (chain, seq)
);
CREATE INDEX IF NOT EXISTS audit_events_ts_idx ON audit_events (ts DESC, chain DESC, seq DESC);
CREATE INDEX IF NOT EXISTS audit_events_tenant_ts_idx ON audit_events (tenant, ts DESC);
CREATE INDEX IF NOT EXISTS audit_events_agent_ts_idx ON audit_events (agent_id, ts DESC) WHERE agent_id <> '';
CREATE INDEX IF NOT EXISTS audit_events_tool_ts_idx ON audit_events (tool, ts DESC) WHERE tool <> '';
CREATE INDEX IF NOT EXISTS audit_events_jti_ts_idx ON audit_events (capability_token_id, ts DESC) WHERE capability_token_id <> '';
CREATE INDEX IF NOT EXISTS audit_events_elevation_ts_idx ON audit_events (elevation_id, ts DESC) WHERE elevation_id <> '';

CREATE TABLE IF NOT EXISTS revoked_tokens (
    jti        TEXT        NOT NULL,
    tenant     TEXT        NOT NULL DEFAULT '',
    reason     TEXT        NOT NULL DEFAULT '',
    revoked_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (jti, tenant)
);
CREATE INDEX IF NOT EXISTS revoked_tokens_revoked_at_idx ON revoked_tokens (revoked_at DESC);

-- Counters are updated on every call: leave room in each page for HOT updates.
CREATE TABLE IF NOT EXISTS budget_counters (
    tenant             TEXT   NOT NULL,
    jti                TEXT   NOT NULL,
    calls              BIGINT NOT NULL,
    window_start_nanos BIGINT NOT NULL,
    PRIMARY KEY (tenant, jti)
) WITH (fillfactor = 50);

CREATE TABLE IF NOT EXISTS pending_approvals (
    pending_id               TEXT        PRIMARY KEY,
    tenant                   TEXT        NOT NULL DEFAULT '',
    capability_token_id      TEXT        NOT NULL DEFAULT '',
    root_capability_token_id TEXT        NOT NULL DEFAULT '',
    agent_id                 TEXT        NOT NULL DEFAULT '',
    tool                     TEXT        NOT NULL,
    args                     JSONB,
    intent_summary           TEXT        NOT NULL DEFAULT '',
    reason                   TEXT        NOT NULL DEFAULT '',
    status                   TEXT        NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'approved', 'rejected', 'timeout')),
    created_at               TIMESTAMPTZ NOT NULL,
    decided_at               TIMESTAMPTZ,
    decided_by               TEXT        NOT NULL DEFAULT '',
    decide_note              TEXT        NOT NULL DEFAULT '',
    requires_step_up         BOOLEAN     NOT NULL DEFAULT FALSE
);
CREATE INDEX IF NOT EXISTS pending_approvals_status_created_idx ON pending_approvals (status, created_at DESC);
CREATE INDEX IF NOT EXISTS pending_approvals_tenant_created_idx ON pending_approvals (tenant, created_at DESC);

CREATE TABLE IF NOT EXISTS policy_drafts (
    id          TEXT        PRIMARY KEY,
    name        TEXT        NOT NULL DEFAULT '',
    description TEXT        NOT NULL DEFAULT '',
    rego_source TEXT        NOT NULL,
    tenant      TEXT        NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    created_by  TEXT        NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS policy_drafts_tenant_updated_idx ON policy_drafts (tenant, updated_at DESC);

CREATE TABLE IF NOT EXISTS policy_active (
    tenant            TEXT PRIMARY KEY,
    current_draft_id  TEXT NOT NULL DEFAULT '',
    previous_draft_id TEXT NOT NULL DEFAULT '',
    promoted_at       TIMESTAMPTZ,
    promoted_by       TEXT NOT NULL DEFAULT ''
);

-- OAuth callers: the authorization server and client of the access token that made a
-- call, beside the capability token columns. Empty for every other caller, as the
-- event's JSON omits them. Idempotent.

ALTER TABLE audit_events ADD COLUMN IF NOT EXISTS token_issuer TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN IF NOT EXISTS client_id    TEXT NOT NULL DEFAULT '';

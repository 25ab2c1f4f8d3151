-- Every revocation, whoever writes it, is announced on `intentgate_revocations` so that
-- gateways can answer revocation lookups from memory (see the Postgres adapter).
CREATE OR REPLACE FUNCTION intentgate_notify_revocation() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('intentgate_revocations', json_build_array(NEW.jti, NEW.tenant)::text);
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS revoked_tokens_notify ON revoked_tokens;
CREATE TRIGGER revoked_tokens_notify
    AFTER INSERT OR UPDATE ON revoked_tokens
    FOR EACH ROW EXECUTE FUNCTION intentgate_notify_revocation();

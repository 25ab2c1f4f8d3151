-- A writer's turn on a chain, and the chain's head as it is once the turn is held, in
-- one round trip. Replicas writing one chain take turns (a transaction-scoped advisory
-- lock on a 64-bit hash of its name); the head must be read after the lock is taken,
-- and a statement's snapshot is taken before it runs, so taking the lock and reading
-- the head in one plain statement would read the head as it was before the wait. A
-- VOLATILE function takes a fresh snapshot for each statement it runs. Waits at most
-- 5 s for the turn (lock_timeout, for the calling transaction only). Idempotent.

CREATE OR REPLACE FUNCTION intentgate_audit_turn(turn_chain TEXT)
RETURNS TABLE (seq BIGINT, hash TEXT, ts TIMESTAMPTZ)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM set_config('lock_timeout', '5s', true);
    PERFORM pg_advisory_xact_lock(hashtextextended(turn_chain, 0));
    RETURN QUERY
        SELECT e.seq, e.hash, e.ts FROM audit_events e
        WHERE e.chain = turn_chain ORDER BY e.seq DESC LIMIT 1;
END
$$;

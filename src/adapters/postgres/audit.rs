use async_trait::async_trait;
use sqlx::types::Json;
use sqlx::{Connection, PgConnection, PgExecutor, PgPool, Postgres, QueryBuilder, Row};

use super::dedicated::{Dedicated, RunError, still_connected};
use super::text::{from_db, json_from_db, json_to_db, to_db};
use super::{db_error, from_sql_time, to_i64, to_sql_time, to_u64};
use crate::domain::audit::{AuditEvent, AuditQuery, ChainHead, ChainedEvent, check_run, seal};
use crate::ports::{AppendOutcome, AuditChainStore, MAX_RACES, StoreError, StoreResult};

pub(super) struct PgAudit {
    pool: PgPool,
    /// The appends' own connection: the audit writer appends one run at a time.
    appends: Dedicated,
}

impl PgAudit {
    pub fn new(pool: PgPool) -> Self {
        Self {
            appends: Dedicated::new(pool.clone()),
            pool,
        }
    }
}

const COLUMNS: &str = "chain, seq, prev_hash, hash, ts, event_name, schema_version, decision, \
     check_stage, reason, tenant, agent_id, session_id, tool, arg_keys, arg_values, \
     capability_token_id, root_capability_token_id, caveat_count, pending_id, decided_by, \
     intent_summary, latency_ms, remote_ip, upstream_status, requires_step_up, elevation_id, \
     token_issuer, client_id";

fn row_to_head(row: &sqlx::postgres::PgRow) -> StoreResult<ChainHead> {
    Ok(ChainHead {
        seq: to_u64(row.try_get("seq").map_err(db_error)?),
        hash: row.try_get("hash").map_err(db_error)?,
        ts: from_sql_time(row.try_get("ts").map_err(db_error)?),
    })
}

/// The chain's last record, read through the primary key.
async fn last_record(db: impl PgExecutor<'_>, chain: &str) -> StoreResult<Option<ChainHead>> {
    let row = sqlx::query(
        "SELECT seq, hash, ts FROM audit_events WHERE chain = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(to_db(chain).as_ref())
    .fetch_optional(db)
    .await
    .map_err(db_error)?;
    row.as_ref().map(row_to_head).transpose()
}

/// The answer when `first` did not extend the chain: the head as it is now.
async fn head_moved(pool: &PgPool, first: &ChainedEvent) -> StoreResult<AppendOutcome> {
    let current = last_record(pool, &first.chain).await?;
    Ok(AppendOutcome::HeadMoved { current })
}

impl PgAudit {
    /// One try of [`AuditChainStore::append_exclusive`], on the appends' own
    /// connection: `None` when a writer out of turn moved the head between the read
    /// and the insert.
    async fn append_in_turn(
        &self,
        chain: &str,
        events: &[AuditEvent],
    ) -> StoreResult<Option<Vec<ChainedEvent>>> {
        let turn = self
            .appends
            .run(async |conn| write_in_turn(conn, chain, events).await)
            .await;
        match turn {
            Ok(Turn::Written(run)) => Ok(Some(run)),
            Ok(Turn::Raced) => Ok(None),
            Ok(Turn::Invalid(e)) => Err(e),
            Err(RunError::Statement(e)) if turn_timed_out(&e) => Err(StoreError::Unavailable {
                backend: super::BACKEND,
                message: format!("chain {chain}: another writer held its turn too long"),
            }),
            // A statement the server refused (a deferred constraint at the commit, say)
            // rolled the run back; one that failed with its connection may have taken
            // effect: never retried.
            Err(RunError::Statement(e)) if !still_connected(&e) => Err(outcome_unknown(&e)),
            Err(e) => Err(e.into_store_error()),
        }
    }
}

/// How one try at a chain's turn ended.
enum Turn {
    Written(Vec<ChainedEvent>),
    /// A writer out of turn moved the head between the read and the insert.
    Raced,
    /// The head read or the sealed run failed its checks; nothing was written.
    Invalid(StoreError),
}

/// One transaction: the chain's turn and its head, the run sealed on that head and
/// inserted, then committed. Read committed whatever the database's default: the
/// turn's function reads the head in a snapshot of its own, taken once the lock is
/// held.
async fn write_in_turn(
    conn: &mut PgConnection,
    chain: &str,
    events: &[AuditEvent],
) -> Result<Turn, sqlx::Error> {
    let mut tx = conn.begin_with(BEGIN).await?;
    let tried = seal_on_turn(&mut tx, chain, events).await;
    if let Ok(Turn::Written(_)) = &tried {
        tx.commit().await?;
    } else {
        // Ended now: left to sqlx, the rollback would wait for the kept connection's
        // next statement, and the chain's turn with it (other replicas wait for that).
        tx.rollback().await?;
    }
    tried
}

/// Inside the turn's transaction: waits for the turn, seals the run on the head and
/// inserts it. Commits nothing.
async fn seal_on_turn(
    tx: &mut PgConnection,
    chain: &str,
    events: &[AuditEvent],
) -> Result<Turn, sqlx::Error> {
    let head = sqlx::query(TAKE_TURN)
        .bind(to_db(chain).as_ref())
        .fetch_optional(&mut *tx)
        .await?;
    let head = match head.as_ref().map(row_to_head).transpose() {
        Ok(head) => head,
        Err(e) => return Ok(Turn::Invalid(e)),
    };
    let run = seal(chain, head.as_ref(), events.to_vec());
    if let Err(e) = check_run(&run) {
        return Ok(Turn::Invalid(e.into()));
    }
    match insert_events(&mut *tx, &run).await {
        Ok(true) => Ok(Turn::Written(run)),
        Ok(false) => Ok(Turn::Raced),
        Err(e) if is_head_race(&e) => Ok(Turn::Raced),
        Err(e) => Err(e),
    }
}

/// A write that may have committed although it failed: the connection went (an I/O
/// or protocol error, or a fatal one such as a terminated backend's, which can come
/// after the commit and before its acknowledgement). Reported as unavailable so that
/// the writer does not append the events again one by one (they would be recorded
/// twice if the first write took effect) and reads the head anew before its next run.
fn outcome_unknown(e: &sqlx::Error) -> StoreError {
    StoreError::Unavailable {
        backend: super::BACKEND,
        message: format!("audit commit outcome unknown: {e}"),
    }
}

const BEGIN: &str = "BEGIN ISOLATION LEVEL READ COMMITTED";

/// Waits for the chain's turn (at most 5 s, the function's `lock_timeout`, which holds
/// for the rest of the transaction) and reads its head once the turn is held, in one
/// round trip (`migrations/20261207000001_audit_turn.sql`).
const TAKE_TURN: &str = "SELECT seq, hash, ts FROM intentgate_audit_turn($1)";

/// A turn that did not come in time (`lock_timeout`): the store being unavailable, not
/// a refusal of the run (which the writer would retry event by event, each waiting as
/// long).
fn turn_timed_out(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("55P03"))
}

/// A unique violation on the primary key: another writer extended the head first.
fn is_head_race(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

fn row_to_event(row: &sqlx::postgres::PgRow) -> Result<ChainedEvent, sqlx::Error> {
    let text = |column: &str| row.try_get::<String, _>(column).map(from_db);
    let arg_keys: Json<Vec<String>> = row.try_get("arg_keys")?;
    let arg_values: Option<Json<serde_json::Value>> = row.try_get("arg_values")?;
    let event = AuditEvent {
        ts: from_sql_time(row.try_get("ts")?),
        event: text("event_name")?,
        schema_version: text("schema_version")?,
        decision: text("decision")?,
        check: text("check_stage")?,
        reason: text("reason")?,
        tenant: text("tenant")?,
        agent_id: text("agent_id")?,
        session_id: text("session_id")?,
        tool: text("tool")?,
        arg_keys: arg_keys.0.into_iter().map(from_db).collect(),
        arg_values: arg_values.map(|j| json_from_db(j.0)),
        capability_token_id: text("capability_token_id")?,
        root_capability_token_id: text("root_capability_token_id")?,
        caveat_count: row.try_get("caveat_count")?,
        pending_id: text("pending_id")?,
        decided_by: text("decided_by")?,
        intent_summary: text("intent_summary")?,
        latency_ms: row.try_get("latency_ms")?,
        remote_ip: text("remote_ip")?,
        upstream_status: row.try_get("upstream_status")?,
        requires_step_up: row.try_get("requires_step_up")?,
        elevation_id: text("elevation_id")?,
        token_issuer: text("token_issuer")?,
        client_id: text("client_id")?,
    };
    Ok(ChainedEvent {
        chain: text("chain")?,
        seq: to_u64(row.try_get("seq")?),
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
        event,
    })
}

/// Adds the query's filters as `AND …` clauses.
fn push_filters(qb: &mut QueryBuilder<Postgres>, q: &AuditQuery) {
    qb.push(" WHERE TRUE");
    if let Some(from) = q.from {
        qb.push(" AND ts >= ").push_bind(to_sql_time(from));
    }
    if let Some(to) = q.to {
        qb.push(" AND ts <= ").push_bind(to_sql_time(to));
    }
    if let Some(t) = q.tenant.tenant() {
        qb.push(" AND tenant = ").push_bind(to_db(t).into_owned());
    }
    let exact = [
        ("agent_id", &q.agent_id),
        ("tool", &q.tool),
        ("decision", &q.decision),
        ("check_stage", &q.check),
        ("capability_token_id", &q.jti),
        ("elevation_id", &q.elevation_id),
    ];
    for (column, value) in exact.into_iter().filter(|(_, v)| !v.is_empty()) {
        qb.push(format_args!(" AND {column} = "))
            .push_bind(to_db(value).into_owned());
    }
    if let Some(c) = &q.after {
        qb.push(" AND (ts, chain, seq) < (")
            .push_bind(to_sql_time(c.ts))
            .push(", ")
            .push_bind(to_db(&c.chain).into_owned())
            .push(", ")
            .push_bind(to_i64(c.seq))
            .push(")");
    }
}

#[async_trait]
impl AuditChainStore for PgAudit {
    async fn head(&self, chain: &str) -> StoreResult<Option<ChainHead>> {
        last_record(&self.pool, chain).await
    }

    /// One statement in the usual case: the insert itself checks that the run extends
    /// the chain's last record. Two writers racing for the same position collide on
    /// the `(chain, seq)` primary key: the second one's insert fails, nothing of its
    /// run is written, and it reports `HeadMoved` (reading the head only then).
    async fn append(&self, records: &[ChainedEvent]) -> StoreResult<AppendOutcome> {
        check_run(records)?;
        let first = &records[0];
        let inserted = self
            .appends
            .run(async |conn| insert_events(conn, records).await)
            .await;
        match inserted {
            Ok(true) => Ok(AppendOutcome::Appended(records[records.len() - 1].head())),
            Ok(false) => head_moved(&self.pool, first).await,
            Err(RunError::Statement(e)) if is_head_race(&e) => head_moved(&self.pool, first).await,
            Err(RunError::Statement(e)) if !still_connected(&e) => Err(outcome_unknown(&e)),
            Err(e) => Err(e.into_store_error()),
        }
    }

    /// One transaction holding the chain's advisory lock (a 64-bit hash of its name):
    /// the head is read once the lock is held, so writers that take turns this way
    /// never refuse each other. A writer out of turn (its first, optimistic try) can
    /// still move the head meanwhile: then this try is rolled back and the writer
    /// waits for its turn again.
    async fn append_exclusive(
        &self,
        chain: &str,
        events: &[AuditEvent],
    ) -> StoreResult<Vec<ChainedEvent>> {
        for _ in 0..MAX_RACES {
            if let Some(written) = self.append_in_turn(chain, events).await? {
                return Ok(written);
            }
        }
        Err(StoreError::Unavailable {
            backend: super::BACKEND,
            message: format!("chain {chain} head kept moving while it held its lock"),
        })
    }

    async fn range(
        &self,
        chain: &str,
        from_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<ChainedEvent>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_events WHERE chain = $1 AND seq >= $2 ORDER BY seq ASC LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(to_db(chain).as_ref())
            .bind(to_i64(from_seq))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|r| row_to_event(r).map_err(db_error))
            .collect()
    }

    async fn hashes(
        &self,
        chain: &str,
        from_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<(u64, String)>> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT seq, hash FROM audit_events WHERE chain = $1 AND seq >= $2 ORDER BY seq ASC LIMIT $3",
        )
        .bind(to_db(chain).as_ref())
        .bind(to_i64(from_seq))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(rows
            .into_iter()
            .map(|(seq, hash)| (to_u64(seq), hash))
            .collect())
    }

    async fn query(&self, q: &AuditQuery) -> StoreResult<Vec<ChainedEvent>> {
        let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM audit_events"));
        push_filters(&mut qb, q);
        qb.push(" ORDER BY ts DESC, chain DESC, seq DESC LIMIT ")
            .push_bind(i64::from(q.effective_limit()))
            .push(" OFFSET ")
            .push_bind(to_i64(q.offset));
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_error)?;
        rows.iter()
            .map(|r| row_to_event(r).map_err(db_error))
            .collect()
    }

    async fn count(&self, q: &AuditQuery) -> StoreResult<u64> {
        let mut qb = QueryBuilder::new("SELECT COUNT(*) FROM audit_events");
        push_filters(&mut qb, q);
        let n: i64 = qb
            .build_query_scalar()
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(to_u64(n))
    }

    /// A loose index scan of the primary key: one index probe per chain, however many
    /// records each holds.
    async fn chains(&self) -> StoreResult<Vec<String>> {
        sqlx::query_scalar(
            "WITH RECURSIVE chains AS (
               (SELECT chain FROM audit_events ORDER BY chain LIMIT 1)
               UNION ALL
               SELECT (SELECT e.chain FROM audit_events e WHERE e.chain > c.chain
                       ORDER BY e.chain LIMIT 1)
               FROM chains c WHERE c.chain IS NOT NULL
             )
             SELECT chain FROM chains WHERE chain IS NOT NULL ORDER BY chain COLLATE \"C\"",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)
    }
}

/// One INSERT for the whole run (atomic on its own), written only if the run's first
/// record extends the chain: its `prev_hash` is the hash of record `seq - 1` (or the
/// chain is empty for `seq` 1). Returns whether it was written. The SQL text is the
/// same for every batch size — the rows travel as one array per column — so each
/// connection prepares it once instead of planning a new statement per batch.
async fn insert_events(
    db: impl PgExecutor<'_>,
    records: &[ChainedEvent],
) -> Result<bool, sqlx::Error> {
    let col = |f: &dyn Fn(&ChainedEvent) -> &str| {
        records
            .iter()
            .map(|r| to_db(f(r)).into_owned())
            .collect::<Vec<_>>()
    };
    let num = |f: &dyn Fn(&ChainedEvent) -> i64| records.iter().map(f).collect::<Vec<_>>();
    let written = sqlx::query(
        "INSERT INTO audit_events (chain, seq, prev_hash, hash, ts, event_name, schema_version,
           decision, check_stage, reason, tenant, agent_id, session_id, tool, arg_keys, arg_values,
           capability_token_id, root_capability_token_id, caveat_count, pending_id, decided_by,
           intent_summary, latency_ms, remote_ip, upstream_status, requires_step_up, elevation_id,
           token_issuer, client_id)
         SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[], $5::timestamptz[],
           $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
           $13::text[], $14::text[], $15::jsonb[], $16::jsonb[], $17::text[], $18::text[],
           $19::bigint[], $20::text[], $21::text[], $22::text[], $23::bigint[], $24::text[],
           $25::bigint[], $26::boolean[], $27::text[], $28::text[], $29::text[])
         WHERE CASE WHEN $2[1] = 1
           THEN NOT EXISTS (SELECT 1 FROM audit_events WHERE chain = $1[1])
           ELSE EXISTS (SELECT 1 FROM audit_events
                        WHERE chain = $1[1] AND seq = $2[1] - 1 AND hash = $3[1]) END",
    )
    .bind(col(&|r| &r.chain))
    .bind(num(&|r| to_i64(r.seq)))
    .bind(col(&|r| &r.prev_hash))
    .bind(col(&|r| &r.hash))
    .bind(
        records
            .iter()
            .map(|r| to_sql_time(r.event.ts))
            .collect::<Vec<_>>(),
    )
    .bind(col(&|r| &r.event.event))
    .bind(col(&|r| &r.event.schema_version))
    .bind(col(&|r| &r.event.decision))
    .bind(col(&|r| &r.event.check))
    .bind(col(&|r| &r.event.reason))
    .bind(col(&|r| &r.event.tenant))
    .bind(col(&|r| &r.event.agent_id))
    .bind(col(&|r| &r.event.session_id))
    .bind(col(&|r| &r.event.tool))
    .bind(
        records
            .iter()
            .map(|r| {
                serde_json::json!(
                    r.event
                        .arg_keys
                        .iter()
                        .map(|k| to_db(k))
                        .collect::<Vec<_>>()
                )
            })
            .collect::<Vec<_>>(),
    )
    .bind(
        records
            .iter()
            .map(|r| r.event.arg_values.as_ref().map(json_to_db))
            .collect::<Vec<_>>(),
    )
    .bind(col(&|r| &r.event.capability_token_id))
    .bind(col(&|r| &r.event.root_capability_token_id))
    .bind(num(&|r| r.event.caveat_count))
    .bind(col(&|r| &r.event.pending_id))
    .bind(col(&|r| &r.event.decided_by))
    .bind(col(&|r| &r.event.intent_summary))
    .bind(num(&|r| r.event.latency_ms))
    .bind(col(&|r| &r.event.remote_ip))
    .bind(num(&|r| r.event.upstream_status))
    .bind(
        records
            .iter()
            .map(|r| r.event.requires_step_up)
            .collect::<Vec<_>>(),
    )
    .bind(col(&|r| &r.event.elevation_id))
    .bind(col(&|r| &r.event.token_issuer))
    .bind(col(&|r| &r.event.client_id))
    .execute(db)
    .await?;
    Ok(written.rows_affected() > 0)
}

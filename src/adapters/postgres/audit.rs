use async_trait::async_trait;
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};

use super::{db_error, from_sql_time, to_i64, to_sql_time, to_u64};
use crate::domain::audit::{AuditEvent, AuditQuery, ChainHead, ChainedEvent, TenantScope};
use crate::ports::{AppendOutcome, AuditChainStore, StoreResult, check_run, extends};

pub(super) struct PgAudit(pub PgPool);

const COLUMNS: &str = "chain, seq, prev_hash, hash, ts, event_name, schema_version, decision, \
     check_stage, reason, tenant, agent_id, session_id, tool, arg_keys, arg_values, \
     capability_token_id, root_capability_token_id, caveat_count, pending_id, decided_by, \
     intent_summary, latency_ms, remote_ip, upstream_status, requires_step_up, elevation_id";

fn row_to_head(row: &sqlx::postgres::PgRow) -> StoreResult<Option<ChainHead>> {
    let seq: i64 = row.try_get("seq").map_err(db_error)?;
    if seq == 0 {
        return Ok(None);
    }
    Ok(Some(ChainHead {
        seq: to_u64(seq),
        hash: row.try_get("hash").map_err(db_error)?,
        ts: from_sql_time(row.try_get("ts").map_err(db_error)?),
    }))
}

fn row_to_event(row: &sqlx::postgres::PgRow) -> Result<ChainedEvent, sqlx::Error> {
    let arg_keys: Json<Vec<String>> = row.try_get("arg_keys")?;
    let arg_values: Option<Json<serde_json::Value>> = row.try_get("arg_values")?;
    let event = AuditEvent {
        ts: from_sql_time(row.try_get("ts")?),
        event: row.try_get("event_name")?,
        schema_version: row.try_get("schema_version")?,
        decision: row.try_get("decision")?,
        check: row.try_get("check_stage")?,
        reason: row.try_get("reason")?,
        tenant: row.try_get("tenant")?,
        agent_id: row.try_get("agent_id")?,
        session_id: row.try_get("session_id")?,
        tool: row.try_get("tool")?,
        arg_keys: arg_keys.0,
        arg_values: arg_values.map(|j| j.0),
        capability_token_id: row.try_get("capability_token_id")?,
        root_capability_token_id: row.try_get("root_capability_token_id")?,
        caveat_count: row.try_get("caveat_count")?,
        pending_id: row.try_get("pending_id")?,
        decided_by: row.try_get("decided_by")?,
        intent_summary: row.try_get("intent_summary")?,
        latency_ms: row.try_get("latency_ms")?,
        remote_ip: row.try_get("remote_ip")?,
        upstream_status: row.try_get("upstream_status")?,
        requires_step_up: row.try_get("requires_step_up")?,
        elevation_id: row.try_get("elevation_id")?,
    };
    Ok(ChainedEvent {
        chain: row.try_get("chain")?,
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
    if let TenantScope::Only(t) = &q.tenant {
        qb.push(" AND tenant = ").push_bind(t.clone());
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
            .push_bind(value.clone());
    }
}

#[async_trait]
impl AuditChainStore for PgAudit {
    async fn head(&self, chain: &str) -> StoreResult<Option<ChainHead>> {
        let row = sqlx::query("SELECT seq, hash, ts FROM audit_chain_heads WHERE chain = $1")
            .bind(chain)
            .fetch_optional(&self.0)
            .await
            .map_err(db_error)?;
        Ok(match row {
            Some(row) => row_to_head(&row)?,
            None => None,
        })
    }

    async fn append(&self, records: &[ChainedEvent]) -> StoreResult<AppendOutcome> {
        check_run(records)?;
        let first = &records[0];
        let mut tx = self.0.begin().await.map_err(db_error)?;
        // Creates the head row if needed and locks it, in one round trip: the no-op
        // update takes the row lock that serializes this chain's writers.
        let row = sqlx::query(
            "INSERT INTO audit_chain_heads AS h (chain, seq, hash, ts) VALUES ($1, 0, '', 'epoch')
             ON CONFLICT (chain) DO UPDATE SET chain = h.chain RETURNING h.seq, h.hash, h.ts",
        )
        .bind(&first.chain)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        let current = row_to_head(&row)?;
        if !extends(current.as_ref(), first) {
            return Ok(AppendOutcome::HeadMoved { current });
        }
        insert_events(&mut tx, records).await?;
        let head = records[records.len() - 1].head();
        sqlx::query("UPDATE audit_chain_heads SET seq = $2, hash = $3, ts = $4 WHERE chain = $1")
            .bind(&first.chain)
            .bind(to_i64(head.seq))
            .bind(&head.hash)
            .bind(to_sql_time(head.ts))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(AppendOutcome::Appended(head))
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
            .bind(chain)
            .bind(to_i64(from_seq))
            .bind(i64::from(limit))
            .fetch_all(&self.0)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|r| row_to_event(r).map_err(db_error))
            .collect()
    }

    async fn query(&self, q: &AuditQuery) -> StoreResult<Vec<ChainedEvent>> {
        let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM audit_events"));
        push_filters(&mut qb, q);
        qb.push(" ORDER BY ts DESC, chain DESC, seq DESC LIMIT ")
            .push_bind(i64::from(q.effective_limit()))
            .push(" OFFSET ")
            .push_bind(to_i64(q.offset));
        let rows = qb.build().fetch_all(&self.0).await.map_err(db_error)?;
        rows.iter()
            .map(|r| row_to_event(r).map_err(db_error))
            .collect()
    }

    async fn count(&self, q: &AuditQuery) -> StoreResult<u64> {
        let mut qb = QueryBuilder::new("SELECT COUNT(*) FROM audit_events");
        push_filters(&mut qb, q);
        let n: i64 = qb
            .build_query_scalar()
            .fetch_one(&self.0)
            .await
            .map_err(db_error)?;
        Ok(to_u64(n))
    }
}

/// One multi-row INSERT for the whole run.
async fn insert_events(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    records: &[ChainedEvent],
) -> StoreResult<()> {
    let mut qb = QueryBuilder::new(format!("INSERT INTO audit_events ({COLUMNS}) "));
    qb.push_values(records, |mut b, r| {
        let e = &r.event;
        b.push_bind(r.chain.clone())
            .push_bind(to_i64(r.seq))
            .push_bind(r.prev_hash.clone())
            .push_bind(r.hash.clone())
            .push_bind(to_sql_time(e.ts))
            .push_bind(e.event.clone())
            .push_bind(e.schema_version.clone())
            .push_bind(e.decision.clone())
            .push_bind(e.check.clone())
            .push_bind(e.reason.clone())
            .push_bind(e.tenant.clone())
            .push_bind(e.agent_id.clone())
            .push_bind(e.session_id.clone())
            .push_bind(e.tool.clone())
            .push_bind(Json(e.arg_keys.clone()))
            .push_bind(e.arg_values.clone().map(Json))
            .push_bind(e.capability_token_id.clone())
            .push_bind(e.root_capability_token_id.clone())
            .push_bind(e.caveat_count)
            .push_bind(e.pending_id.clone())
            .push_bind(e.decided_by.clone())
            .push_bind(e.intent_summary.clone())
            .push_bind(e.latency_ms)
            .push_bind(e.remote_ip.clone())
            .push_bind(e.upstream_status)
            .push_bind(e.requires_step_up)
            .push_bind(e.elevation_id.clone());
    });
    qb.build().execute(&mut **tx).await.map_err(db_error)?;
    Ok(())
}

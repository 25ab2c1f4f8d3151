use async_trait::async_trait;
use sqlx::types::Json;
use sqlx::{PgPool, Row};

use super::{db_error, from_sql_time, to_i64, to_sql_time};
use crate::domain::approval::{Approval, ApprovalDecision, ApprovalStatus};
use crate::ports::{
    ApprovalFilter, ApprovalStore, CreateOutcome, DecideOutcome, StoreError, StoreResult,
};

pub(super) struct PgApprovals(pub PgPool);

const COLUMNS: &str = "pending_id, tenant, capability_token_id, root_capability_token_id, agent_id, \
     tool, args, intent_summary, reason, status, created_at, decided_at, decided_by, decide_note, \
     requires_step_up";

fn row_to_approval(row: &sqlx::postgres::PgRow) -> StoreResult<Approval> {
    let get = |e: sqlx::Error| db_error(e);
    let status: String = row.try_get("status").map_err(get)?;
    let status = ApprovalStatus::parse(&status).ok_or_else(|| StoreError::Corrupted {
        backend: "postgres",
        message: format!("approval status {status:?}"),
    })?;
    let args: Option<Json<serde_json::Value>> = row.try_get("args").map_err(get)?;
    let decided_at: Option<time::OffsetDateTime> = row.try_get("decided_at").map_err(get)?;
    Ok(Approval {
        pending_id: row.try_get("pending_id").map_err(get)?,
        tenant: row.try_get("tenant").map_err(get)?,
        capability_token_id: row.try_get("capability_token_id").map_err(get)?,
        root_capability_token_id: row.try_get("root_capability_token_id").map_err(get)?,
        agent_id: row.try_get("agent_id").map_err(get)?,
        tool: row.try_get("tool").map_err(get)?,
        args: args.map(|j| j.0),
        intent_summary: row.try_get("intent_summary").map_err(get)?,
        reason: row.try_get("reason").map_err(get)?,
        status,
        created_at: from_sql_time(row.try_get("created_at").map_err(get)?),
        decided_at: decided_at.map(from_sql_time),
        decided_by: row.try_get("decided_by").map_err(get)?,
        decide_note: row.try_get("decide_note").map_err(get)?,
        requires_step_up: row.try_get("requires_step_up").map_err(get)?,
    })
}

#[async_trait]
impl ApprovalStore for PgApprovals {
    async fn create(&self, a: &Approval) -> StoreResult<CreateOutcome> {
        let done = sqlx::query(
            "INSERT INTO pending_approvals (pending_id, tenant, capability_token_id, root_capability_token_id,
               agent_id, tool, args, intent_summary, reason, status, created_at, decided_at, decided_by,
               decide_note, requires_step_up)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
             ON CONFLICT (pending_id) DO NOTHING",
        )
        .bind(&a.pending_id)
        .bind(&a.tenant)
        .bind(&a.capability_token_id)
        .bind(&a.root_capability_token_id)
        .bind(&a.agent_id)
        .bind(&a.tool)
        .bind(a.args.as_ref().map(Json))
        .bind(&a.intent_summary)
        .bind(&a.reason)
        .bind(a.status.as_str())
        .bind(to_sql_time(a.created_at))
        .bind(a.decided_at.map(to_sql_time))
        .bind(&a.decided_by)
        .bind(&a.decide_note)
        .bind(a.requires_step_up)
        .execute(&self.0)
        .await
        .map_err(db_error)?;
        Ok(if done.rows_affected() == 1 {
            CreateOutcome::Created
        } else {
            CreateOutcome::AlreadyExists
        })
    }

    async fn get(&self, pending_id: &str) -> StoreResult<Option<Approval>> {
        let sql = format!("SELECT {COLUMNS} FROM pending_approvals WHERE pending_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(pending_id)
            .fetch_optional(&self.0)
            .await
            .map_err(db_error)?;
        row.as_ref().map(row_to_approval).transpose()
    }

    /// One guarded UPDATE: only a pending row moves.
    async fn decide(&self, pending_id: &str, d: &ApprovalDecision) -> StoreResult<DecideOutcome> {
        let (status, decided_by, note) = d.recorded();
        // Still one statement: the guarded UPDATE, and a NOTIFY for other replicas.
        let sql = format!(
            "WITH decided AS (
               UPDATE pending_approvals SET status = $2, decided_at = $3, decided_by = $4, decide_note = $5
               WHERE pending_id = $1 AND status = 'pending' RETURNING {COLUMNS})
             SELECT decided.*, pg_notify('{channel}', decided.pending_id) FROM decided",
            channel = super::notices::APPROVAL_CHANNEL
        );
        let updated = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(pending_id)
            .bind(status.as_str())
            .bind(to_sql_time(d.at))
            .bind(decided_by)
            .bind(note)
            .fetch_optional(&self.0)
            .await
            .map_err(db_error)?;
        if let Some(row) = updated {
            return row_to_approval(&row).map(DecideOutcome::Decided);
        }
        Ok(match self.get(pending_id).await? {
            Some(row) => DecideOutcome::AlreadyDecided(row),
            None => DecideOutcome::NotFound,
        })
    }

    async fn list(
        &self,
        filter: &ApprovalFilter,
        limit: u32,
        offset: u64,
    ) -> StoreResult<Vec<Approval>> {
        let tenant = filter.tenant.tenant();
        let sql = format!(
            "SELECT {COLUMNS} FROM pending_approvals
             WHERE ($1::text IS NULL OR tenant = $1) AND ($2::text IS NULL OR status = $2)
             ORDER BY created_at DESC, pending_id ASC LIMIT $3 OFFSET $4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant)
            .bind(filter.status.map(ApprovalStatus::as_str))
            .bind(i64::from(limit))
            .bind(to_i64(offset))
            .fetch_all(&self.0)
            .await
            .map_err(db_error)?;
        rows.iter().map(row_to_approval).collect()
    }
}

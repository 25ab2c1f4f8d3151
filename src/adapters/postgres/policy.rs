use async_trait::async_trait;
use sqlx::{PgPool, Postgres, Row, Transaction};

use super::{db_error, from_sql_time, to_i64, to_sql_time};
use crate::domain::policy::{ActivePolicy, DraftUpdate, PolicyDraft};
use crate::domain::tenant::TenantScope;
use crate::domain::time::Timestamp;
use crate::ports::{
    DeleteDraftOutcome, PolicyStore, PromoteOutcome, RollbackOutcome, StoreError, StoreResult,
};

pub(super) struct PgPolicies(pub PgPool);

const DRAFT_COLUMNS: &str =
    "id, name, description, rego_source, tenant, created_at, updated_at, created_by";

fn row_to_draft(row: &sqlx::postgres::PgRow) -> StoreResult<PolicyDraft> {
    let g = db_error;
    Ok(PolicyDraft {
        id: row.try_get("id").map_err(g)?,
        name: row.try_get("name").map_err(g)?,
        description: row.try_get("description").map_err(g)?,
        rego_source: row.try_get("rego_source").map_err(g)?,
        tenant: row.try_get("tenant").map_err(g)?,
        created_at: from_sql_time(row.try_get("created_at").map_err(g)?),
        updated_at: from_sql_time(row.try_get("updated_at").map_err(g)?),
        created_by: row.try_get("created_by").map_err(g)?,
    })
}

fn row_to_active(row: &sqlx::postgres::PgRow) -> StoreResult<ActivePolicy> {
    let g = db_error;
    let promoted_at: Option<time::OffsetDateTime> = row.try_get("promoted_at").map_err(g)?;
    Ok(ActivePolicy {
        tenant: row.try_get("tenant").map_err(g)?,
        current_draft_id: row.try_get("current_draft_id").map_err(g)?,
        previous_draft_id: row.try_get("previous_draft_id").map_err(g)?,
        promoted_at: promoted_at.map(from_sql_time),
        promoted_by: row.try_get("promoted_by").map_err(g)?,
    })
}

/// The tenant's pointer inside a transaction, locked for update.
async fn locked_slot(
    tx: &mut Transaction<'_, Postgres>,
    tenant: &str,
) -> StoreResult<ActivePolicy> {
    let row = sqlx::query("SELECT * FROM policy_active WHERE tenant = $1 FOR UPDATE")
        .bind(tenant)
        .fetch_optional(&mut **tx)
        .await
        .map_err(db_error)?;
    row.as_ref()
        .map_or_else(|| Ok(ActivePolicy::empty(tenant)), row_to_active)
}

/// Tells other replicas, at commit, that a tenant's pointer changed.
async fn announce(tx: &mut Transaction<'_, Postgres>, tenant: &str) -> StoreResult<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(super::notices::POLICY_CHANNEL)
        .bind(tenant)
        .execute(&mut **tx)
        .await
        .map_err(db_error)?;
    Ok(())
}

async fn save_slot(tx: &mut Transaction<'_, Postgres>, a: &ActivePolicy) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO policy_active (tenant, current_draft_id, previous_draft_id, promoted_at, promoted_by)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant) DO UPDATE SET current_draft_id = $2, previous_draft_id = $3,
           promoted_at = $4, promoted_by = $5",
    )
    .bind(&a.tenant)
    .bind(&a.current_draft_id)
    .bind(&a.previous_draft_id)
    .bind(a.promoted_at.map(to_sql_time))
    .bind(&a.promoted_by)
    .execute(&mut **tx)
    .await
    .map_err(db_error)?;
    announce(tx, &a.tenant).await
}

#[async_trait]
impl PolicyStore for PgPolicies {
    async fn create_draft(&self, d: &PolicyDraft) -> StoreResult<()> {
        let done = sqlx::query(
            "INSERT INTO policy_drafts (id, name, description, rego_source, tenant, created_at, updated_at, created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&d.id)
        .bind(&d.name)
        .bind(&d.description)
        .bind(&d.rego_source)
        .bind(&d.tenant)
        .bind(to_sql_time(d.created_at))
        .bind(to_sql_time(d.updated_at))
        .bind(&d.created_by)
        .execute(&self.0)
        .await
        .map_err(db_error)?;
        match done.rows_affected() {
            1 => Ok(()),
            _ => Err(StoreError::InvalidRequest(format!(
                "draft id {} exists",
                d.id
            ))),
        }
    }

    async fn update_draft(&self, id: &str, u: &DraftUpdate) -> StoreResult<Option<PolicyDraft>> {
        let sql = format!(
            "UPDATE policy_drafts SET name = $2, description = $3, rego_source = $4, updated_at = $5
             WHERE id = $1 RETURNING {DRAFT_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(&u.name)
            .bind(&u.description)
            .bind(&u.rego_source)
            .bind(to_sql_time(u.at))
            .fetch_optional(&self.0)
            .await
            .map_err(db_error)?;
        row.as_ref().map(row_to_draft).transpose()
    }

    async fn get_draft(&self, id: &str) -> StoreResult<Option<PolicyDraft>> {
        let sql = format!("SELECT {DRAFT_COLUMNS} FROM policy_drafts WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.0)
            .await
            .map_err(db_error)?;
        row.as_ref().map(row_to_draft).transpose()
    }

    async fn list_drafts(
        &self,
        scope: &TenantScope,
        limit: u32,
        offset: u64,
    ) -> StoreResult<Vec<PolicyDraft>> {
        let tenant = scope.tenant();
        let sql = format!(
            "SELECT {DRAFT_COLUMNS} FROM policy_drafts WHERE ($1::text IS NULL OR tenant = $1)
             ORDER BY updated_at DESC, id ASC LIMIT $2 OFFSET $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant)
            .bind(i64::from(limit))
            .bind(to_i64(offset))
            .fetch_all(&self.0)
            .await
            .map_err(db_error)?;
        rows.iter().map(row_to_draft).collect()
    }

    async fn delete_draft(&self, id: &str) -> StoreResult<DeleteDraftOutcome> {
        let mut tx = self.0.begin().await.map_err(db_error)?;
        // Lock every pointer so no promote can start referencing the draft meanwhile.
        let in_use: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM (SELECT * FROM policy_active FOR UPDATE) a
                            WHERE a.current_draft_id = $1 OR a.previous_draft_id = $1)",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        let outcome = if in_use {
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM policy_drafts WHERE id = $1)")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_error)?;
            if exists {
                DeleteDraftOutcome::InUse
            } else {
                DeleteDraftOutcome::NotFound
            }
        } else {
            let done = sqlx::query("DELETE FROM policy_drafts WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            if done.rows_affected() == 1 {
                DeleteDraftOutcome::Deleted
            } else {
                DeleteDraftOutcome::NotFound
            }
        };
        tx.commit().await.map_err(db_error)?;
        Ok(outcome)
    }

    async fn active(&self, tenant: &str) -> StoreResult<ActivePolicy> {
        let row = sqlx::query("SELECT * FROM policy_active WHERE tenant = $1")
            .bind(tenant)
            .fetch_optional(&self.0)
            .await
            .map_err(db_error)?;
        row.as_ref()
            .map_or_else(|| Ok(ActivePolicy::empty(tenant)), row_to_active)
    }

    async fn list_active(&self) -> StoreResult<Vec<ActivePolicy>> {
        let rows = sqlx::query("SELECT * FROM policy_active ORDER BY tenant ASC")
            .fetch_all(&self.0)
            .await
            .map_err(db_error)?;
        rows.iter().map(row_to_active).collect()
    }

    async fn promote(
        &self,
        tenant: &str,
        draft_id: &str,
        by: &str,
        at: Timestamp,
    ) -> StoreResult<PromoteOutcome> {
        let mut tx = self.0.begin().await.map_err(db_error)?;
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM policy_drafts WHERE id = $1 FOR SHARE)",
        )
        .bind(draft_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        if !exists {
            return Ok(PromoteOutcome::DraftNotFound);
        }
        // Serialize promotes of a slot that has no row yet.
        sqlx::query("INSERT INTO policy_active (tenant) VALUES ($1) ON CONFLICT DO NOTHING")
            .bind(tenant)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let slot = locked_slot(&mut tx, tenant).await?;
        let outcome = match slot.promote(draft_id, by, at) {
            Some(next) => {
                save_slot(&mut tx, &next).await?;
                PromoteOutcome::Promoted(next)
            }
            None => PromoteOutcome::Unchanged(slot),
        };
        tx.commit().await.map_err(db_error)?;
        Ok(outcome)
    }

    async fn rollback(
        &self,
        tenant: &str,
        by: &str,
        at: Timestamp,
    ) -> StoreResult<RollbackOutcome> {
        let mut tx = self.0.begin().await.map_err(db_error)?;
        let slot = locked_slot(&mut tx, tenant).await?;
        let Some(next) = slot.rollback(by, at) else {
            return Ok(RollbackOutcome::NothingToRollBack);
        };
        save_slot(&mut tx, &next).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(RollbackOutcome::RolledBack(next))
    }

    async fn clear_active(&self, tenant: &str) -> StoreResult<ActivePolicy> {
        if tenant.is_empty() {
            return self.active("").await;
        }
        let mut tx = self.0.begin().await.map_err(db_error)?;
        sqlx::query("DELETE FROM policy_active WHERE tenant = $1")
            .bind(tenant)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        announce(&mut tx, tenant).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(ActivePolicy::empty(tenant))
    }
}

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::{PgPool, Row};

use super::revocation_feed::RevocationFeed;
use super::{db_error, from_sql_time, to_i64, to_sql_time};
use crate::domain::revocation::Revocation;
use crate::domain::tenant::TenantScope;
use crate::ports::{RevocationStore, RevokeOutcome, StoreResult};

/// Rows in `revoked_tokens`; lookups answered from the [`RevocationFeed`] while it is
/// current, from the table otherwise.
pub(super) struct PgRevocations {
    pub pool: PgPool,
    pub feed: Arc<RevocationFeed>,
}

fn row_to_revocation(row: &sqlx::postgres::PgRow) -> Result<Revocation, sqlx::Error> {
    Ok(Revocation {
        jti: row.try_get("jti")?,
        tenant: row.try_get("tenant")?,
        reason: row.try_get("reason")?,
        revoked_at: from_sql_time(row.try_get("revoked_at")?),
    })
}

#[async_trait]
impl RevocationStore for PgRevocations {
    async fn is_revoked(&self, jti: &str, tenant: &str) -> StoreResult<bool> {
        if let Some(revoked) = self.feed.covers(jti, tenant) {
            return Ok(revoked);
        }
        sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $1 AND tenant IN ($2, ''))",
        )
        .bind(jti)
        .bind(tenant)
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)
    }

    async fn revoke(&self, r: &Revocation) -> StoreResult<RevokeOutcome> {
        // xmax = 0 tells a fresh insert from an update of an existing row.
        let row = sqlx::query(
            "INSERT INTO revoked_tokens (jti, tenant, reason, revoked_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (jti, tenant) DO UPDATE SET reason = EXCLUDED.reason
             RETURNING jti, tenant, reason, revoked_at, (xmax = 0) AS inserted",
        )
        .bind(&r.jti)
        .bind(&r.tenant)
        .bind(&r.reason)
        .bind(to_sql_time(r.revoked_at))
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        // Its own notice is on the way; this replica knows at once.
        self.feed.insert(&r.jti, &r.tenant);
        let stored = row_to_revocation(&row).map_err(db_error)?;
        let inserted: bool = row.try_get("inserted").map_err(db_error)?;
        Ok(if inserted {
            RevokeOutcome::Revoked(stored)
        } else {
            RevokeOutcome::AlreadyRevoked(stored)
        })
    }

    async fn list(
        &self,
        scope: &TenantScope,
        limit: u32,
        offset: u64,
    ) -> StoreResult<Vec<Revocation>> {
        let tenant = scope.tenant();
        let rows = sqlx::query(
            "SELECT jti, tenant, reason, revoked_at FROM revoked_tokens
             WHERE ($1::text IS NULL OR tenant = $1)
             ORDER BY revoked_at DESC, jti ASC LIMIT $2 OFFSET $3",
        )
        .bind(tenant)
        .bind(i64::from(limit))
        .bind(to_i64(offset))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter()
            .map(|r| row_to_revocation(r).map_err(db_error))
            .collect()
    }
}

use async_trait::async_trait;
use sqlx::PgPool;

use super::{db_error, to_u64};
use crate::domain::budget::BudgetKey;
use crate::domain::time::Timestamp;
use crate::ports::{BudgetStore, StoreResult};

pub(super) struct PgBudgets(pub PgPool);

#[async_trait]
impl BudgetStore for PgBudgets {
    /// One statement: insert at 1, or increment, or restart the window.
    async fn record_call(
        &self,
        key: &BudgetKey,
        now: Timestamp,
        window_secs: i64,
    ) -> StoreResult<u64> {
        let window_nanos = window_secs.saturating_mul(1_000_000_000);
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO budget_counters AS c (tenant, jti, calls, window_start_nanos) VALUES ($1, $2, 1, $3)
             ON CONFLICT (tenant, jti) DO UPDATE SET
               calls = CASE WHEN c.window_start_nanos + $4 <= $3 THEN 1 ELSE c.calls + 1 END,
               window_start_nanos = CASE WHEN c.window_start_nanos + $4 <= $3 THEN $3 ELSE c.window_start_nanos END
             RETURNING calls",
        )
        .bind(&key.tenant)
        .bind(&key.jti)
        .bind(now.unix_nanos())
        .bind(window_nanos)
        .fetch_one(&self.0)
        .await
        .map(to_u64)
        .map_err(db_error)
    }

    async fn calls(&self, key: &BudgetKey, now: Timestamp, window_secs: i64) -> StoreResult<u64> {
        let window_nanos = window_secs.saturating_mul(1_000_000_000);
        let calls = sqlx::query_scalar::<_, i64>(
            "SELECT calls FROM budget_counters
             WHERE tenant = $1 AND jti = $2 AND window_start_nanos + $4 > $3",
        )
        .bind(&key.tenant)
        .bind(&key.jti)
        .bind(now.unix_nanos())
        .bind(window_nanos)
        .fetch_optional(&self.0)
        .await
        .map_err(db_error)?;
        Ok(calls.map_or(0, to_u64))
    }
}

use async_trait::async_trait;
use sqlx::PgPool;

use super::{db_error, to_i64, to_u64};
use crate::domain::budget::BudgetKey;
use crate::domain::time::Timestamp;
use crate::ports::{BudgetStore, StoreError, StoreResult};

pub(super) struct PgBudgets(pub PgPool);

#[async_trait]
impl BudgetStore for PgBudgets {
    /// One statement for the whole batch: per key insert at `n`, or add `n`, or restart
    /// the window at `n`. Rows are locked in the order given (callers sort them), so
    /// replicas writing overlapping batches cannot deadlock.
    async fn record_calls(
        &self,
        batch: &[(BudgetKey, u64)],
        now: Timestamp,
        window_secs: i64,
    ) -> StoreResult<Vec<u64>> {
        let window_nanos = window_secs.saturating_mul(1_000_000_000);
        let tenants: Vec<&str> = batch.iter().map(|(k, _)| k.tenant.as_str()).collect();
        let jtis: Vec<&str> = batch.iter().map(|(k, _)| k.jti.as_str()).collect();
        let calls: Vec<i64> = batch.iter().map(|(_, n)| to_i64(*n)).collect();
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "INSERT INTO budget_counters AS c (tenant, jti, calls, window_start_nanos)
             SELECT t, j, n, $4 FROM UNNEST($1::text[], $2::text[], $3::bigint[]) AS b(t, j, n)
             ON CONFLICT (tenant, jti) DO UPDATE SET
               calls = CASE WHEN c.window_start_nanos + $5 <= $4 THEN EXCLUDED.calls
                            ELSE c.calls + EXCLUDED.calls END,
               window_start_nanos = CASE WHEN c.window_start_nanos + $5 <= $4 THEN $4
                                         ELSE c.window_start_nanos END
             RETURNING tenant, jti, calls",
        )
        .bind(&tenants)
        .bind(&jtis)
        .bind(&calls)
        .bind(now.unix_nanos())
        .bind(window_nanos)
        .fetch_all(&self.0)
        .await
        .map_err(db_error)?;
        batch
            .iter()
            .map(|(key, _)| {
                rows.iter()
                    .find(|(t, j, _)| *t == key.tenant && *j == key.jti)
                    .map(|(_, _, calls)| to_u64(*calls))
                    .ok_or_else(|| {
                        StoreError::InvalidRequest("budget batch keys must be distinct".into())
                    })
            })
            .collect()
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

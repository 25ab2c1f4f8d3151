use async_trait::async_trait;
use sqlx::PgPool;

use super::dedicated::{Dedicated, RunError};
use super::{db_error, to_i64, to_u64};
use crate::domain::budget::BudgetKey;
use crate::domain::time::Timestamp;
use crate::ports::{BudgetStore, StoreError, StoreResult};

pub(super) struct PgBudgets {
    pool: PgPool,
    /// The counts' own connection: the budget counter runs one round at a time.
    counts: Dedicated,
    commits: super::CountCommits,
}

impl PgBudgets {
    pub fn new(pool: PgPool, commits: super::CountCommits) -> Self {
        Self {
            counts: Dedicated::new(pool.clone()),
            pool,
            commits,
        }
    }
}

/// The counting statement, after an optional `WITH` and with an optional extra
/// `FROM` item; `$1..$3` the batch, `$4` now, `$5` the window in nanoseconds.
macro_rules! count_sql {
    ($with:literal, $also_from:literal) => {
        concat!(
            $with,
            "INSERT INTO budget_counters AS c (tenant, jti, calls, window_start_nanos)
             SELECT t, j, n, $4
             FROM UNNEST($1::text[], $2::text[], $3::bigint[]) AS b(t, j, n)",
            $also_from,
            " ON CONFLICT (tenant, jti) DO UPDATE SET
               calls = CASE WHEN c.window_start_nanos + $5 <= $4 THEN EXCLUDED.calls
                            ELSE c.calls + EXCLUDED.calls END,
               window_start_nanos = CASE WHEN c.window_start_nanos + $5 <= $4 THEN $4
                                         ELSE c.window_start_nanos END
             RETURNING tenant, jti, calls"
        )
    };
}

const COUNT: &str = count_sql!("", "");

/// The same, committed without waiting for its WAL flush ([`super::CountCommits`]):
/// that wait was most of the budget stage's time under load.
const COUNT_FLUSHED_LATER: &str = count_sql!(
    "WITH flushed_later AS (SELECT set_config('synchronous_commit', 'off', true)) ",
    ", flushed_later"
);

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
        let sql = match self.commits {
            super::CountCommits::Wait => COUNT,
            super::CountCommits::FlushedByAudit => COUNT_FLUSHED_LATER,
        };
        let count = sqlx::query_as(sql)
            .bind(&tenants)
            .bind(&jtis)
            .bind(&calls)
            .bind(now.unix_nanos())
            .bind(window_nanos);
        let rows: Vec<(String, String, i64)> = self
            .counts
            .run(async |conn| count.fetch_all(conn).await)
            .await
            .map_err(RunError::into_store_error)?;
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
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(calls.map_or(0, to_u64))
    }
}

#[cfg(test)]
mod tests {
    use sqlx::{Connection, PgConnection};

    use super::{COUNT, COUNT_FLUSHED_LATER};

    /// One connection to the test server, with a session-private `budget_counters`;
    /// `None` (skipped, loudly) without a server, except under CI.
    async fn scratch() -> Option<PgConnection> {
        let url = super::super::test_server_url()?;
        let mut conn = PgConnection::connect(&url).await.unwrap();
        sqlx::query(
            "CREATE TEMP TABLE budget_counters (tenant text, jti text, calls bigint NOT NULL,
             window_start_nanos bigint NOT NULL, PRIMARY KEY (tenant, jti))",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        Some(conn)
    }

    async fn count(conn: &mut PgConnection, sql: &'static str) -> i64 {
        let (_, _, calls): (String, String, i64) = sqlx::query_as(sql)
            .bind(vec!["t"])
            .bind(vec!["j"])
            .bind(vec![2_i64])
            .bind(1_000_i64)
            .bind(60_000_000_000_i64)
            .fetch_one(conn)
            .await
            .unwrap();
        calls
    }

    async fn synchronous_commit(conn: &mut PgConnection) -> String {
        sqlx::query_scalar("SELECT current_setting('synchronous_commit')")
            .fetch_one(conn)
            .await
            .unwrap()
    }

    /// The count's own transaction commits without waiting, and the setting ends with
    /// it: the next statement on the pooled connection (an audit append) waits again.
    #[tokio::test]
    async fn only_the_counting_transaction_skips_the_flush_wait() {
        let Some(mut conn) = scratch().await else {
            return;
        };
        let mut tx = conn.begin().await.unwrap();
        assert_eq!(count(&mut tx, COUNT_FLUSHED_LATER).await, 2);
        assert_eq!(synchronous_commit(&mut tx).await, "off");
        tx.commit().await.unwrap();
        assert_eq!(synchronous_commit(&mut conn).await, "on");
        assert_eq!(count(&mut conn, COUNT_FLUSHED_LATER).await, 4);
        assert_eq!(synchronous_commit(&mut conn).await, "on");
        assert_eq!(count(&mut conn, COUNT).await, 6);
    }
}

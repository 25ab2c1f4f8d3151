//! Call counters for `max_calls` budgets.

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::budget::BudgetKey;
use crate::domain::time::Timestamp;

#[async_trait]
pub trait BudgetStore: Send + Sync {
    /// Atomically adds `n` calls to each key's counter and returns each key's count
    /// after it, in the batch's order. A counter starts at 0 and lives `window_secs`
    /// from its first counted call; a batch at or after `first_call + window_secs`
    /// starts a new window (its count is then `n`). Concurrent batches are serialized per
    /// key, so the caller can hand the `n` calls the counts `count - n + 1 ..= count`
    /// and no two calls anywhere get the same count: comparing it with the limit
    /// ([`crate::domain::budget::check`]) can never allow more calls than the limit.
    /// Keys must be distinct and each `n` at least 1; callers sort the batch by key
    /// (tenant, then jti) so that writers sharing a database lock rows in one order.
    ///
    /// The counts are visible to every writer once this returns. A store may return
    /// before they are on disk only when whoever opened it commits every counted call's
    /// audit record durably afterwards into the same ordered log, which then carries
    /// the counts to disk with it (Postgres opened with
    /// `CountCommits::FlushedByAudit`; sled, whose one log holds both and whose audit
    /// appends are flushed).
    async fn record_calls(
        &self,
        batch: &[(BudgetKey, u64)],
        now: Timestamp,
        window_secs: i64,
    ) -> StoreResult<Vec<u64>>;

    /// One call: [`BudgetStore::record_calls`] for one key with `n = 1`.
    async fn record_call(
        &self,
        key: &BudgetKey,
        now: Timestamp,
        window_secs: i64,
    ) -> StoreResult<u64> {
        let counts = self
            .record_calls(&[(key.clone(), 1)], now, window_secs)
            .await?;
        counts.first().copied().ok_or_else(|| {
            super::StoreError::InvalidRequest("budget store answered no count".into())
        })
    }

    /// The current count (0 when absent or its window has ended). Read-only.
    async fn calls(&self, key: &BudgetKey, now: Timestamp, window_secs: i64) -> StoreResult<u64>;
}

//! Call counters for `max_calls` budgets.

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::budget::BudgetKey;
use crate::domain::time::Timestamp;

#[async_trait]
pub trait BudgetStore: Send + Sync {
    /// Atomically adds one call to `key`'s counter and returns the new count. The
    /// counter starts at 0 and lives `window_secs` from its first counted call; a call
    /// at or after `first_call + window_secs` starts a new window (count 1). Concurrent
    /// callers each get a distinct count, so comparing it with the limit
    /// ([`crate::domain::budget::check`]) can never allow more calls than the limit.
    async fn record_call(
        &self,
        key: &BudgetKey,
        now: Timestamp,
        window_secs: i64,
    ) -> StoreResult<u64>;

    /// The current count (0 when absent or its window has ended). Read-only.
    async fn calls(&self, key: &BudgetKey, now: Timestamp, window_secs: i64) -> StoreResult<u64>;
}

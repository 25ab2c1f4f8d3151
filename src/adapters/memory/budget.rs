use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::lock;
use crate::domain::budget::BudgetKey;
use crate::domain::time::Timestamp;
use crate::ports::{BudgetStore, StoreResult};

/// A counter and the start of its window.
#[derive(Clone, Copy)]
struct Counter {
    calls: u64,
    window_start: Timestamp,
}

impl Counter {
    fn live_at(self, now: Timestamp, window_secs: i64) -> bool {
        now < self.window_start.plus_seconds(window_secs)
    }
}

#[derive(Default)]
pub struct MemoryBudgets {
    counters: Mutex<HashMap<BudgetKey, Counter>>,
}

#[async_trait]
impl BudgetStore for MemoryBudgets {
    async fn record_calls(
        &self,
        batch: &[(BudgetKey, u64)],
        now: Timestamp,
        window_secs: i64,
    ) -> StoreResult<Vec<u64>> {
        let mut counters = lock(&self.counters);
        let fresh = Counter {
            calls: 0,
            window_start: now,
        };
        let counts = batch
            .iter()
            .map(|(key, n)| {
                let counter = counters.entry(key.clone()).or_insert(fresh);
                if !counter.live_at(now, window_secs) {
                    *counter = fresh;
                }
                counter.calls = counter.calls.saturating_add(*n);
                counter.calls
            })
            .collect();
        Ok(counts)
    }

    async fn calls(&self, key: &BudgetKey, now: Timestamp, window_secs: i64) -> StoreResult<u64> {
        let counters = lock(&self.counters);
        Ok(counters
            .get(key)
            .filter(|c| c.live_at(now, window_secs))
            .map_or(0, |c| c.calls))
    }
}

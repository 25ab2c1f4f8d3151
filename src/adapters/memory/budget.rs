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
    async fn record_call(
        &self,
        key: &BudgetKey,
        now: Timestamp,
        window_secs: i64,
    ) -> StoreResult<u64> {
        let mut counters = lock(&self.counters);
        let counter = counters.entry(key.clone()).or_insert(Counter {
            calls: 0,
            window_start: now,
        });
        if !counter.live_at(now, window_secs) {
            *counter = Counter {
                calls: 0,
                window_start: now,
            };
        }
        counter.calls = counter.calls.saturating_add(1);
        Ok(counter.calls)
    }

    async fn calls(&self, key: &BudgetKey, now: Timestamp, window_secs: i64) -> StoreResult<u64> {
        let counters = lock(&self.counters);
        Ok(counters
            .get(key)
            .filter(|c| c.live_at(now, window_secs))
            .map_or(0, |c| c.calls))
    }
}

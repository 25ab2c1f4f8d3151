use std::sync::Arc;

use async_trait::async_trait;

use super::codec::{CounterRecord, decode, encode};
use super::{Database, SledDb, backend, key2};
use crate::domain::budget::BudgetKey;
use crate::domain::time::Timestamp;
use crate::ports::{BudgetStore, StoreResult};

/// Counters under `tenant 0 jti`, updated with `update_and_fetch` (a CAS loop), so
/// concurrent callers each get a distinct count.
pub(super) struct SledBudgets(pub Arc<Database>);

fn live(c: &CounterRecord, now: Timestamp, window_secs: i64) -> bool {
    now < Timestamp::from_unix_nanos(c.window_start).plus_seconds(window_secs)
}

/// Adds `n` to the counter under `key` (a CAS loop) and returns the new count.
fn add_calls(
    db: &SledDb,
    key: &[u8],
    n: u64,
    now: Timestamp,
    window_secs: i64,
) -> StoreResult<u64> {
    let mut corrupt = None;
    let updated = db
        .budgets
        .update_and_fetch(key, |old| {
            let counter = match old.map(|b| decode::<CounterRecord>(b, "budget counter")) {
                Some(Ok(c)) if live(&c, now, window_secs) => c,
                Some(Err(e)) => {
                    corrupt = Some(e);
                    return old.map(<[u8]>::to_vec);
                }
                _ => CounterRecord {
                    calls: 0,
                    window_start: now.unix_nanos(),
                },
            };
            let next = CounterRecord {
                calls: counter.calls.saturating_add(n),
                ..counter
            };
            // Encoding two integers cannot fail; keep the old value if it ever did.
            encode(&next).ok().or_else(|| old.map(<[u8]>::to_vec))
        })
        .map_err(backend)?;
    if let Some(e) = corrupt {
        return Err(e);
    }
    let bytes = updated.ok_or_else(|| crate::ports::StoreError::Corrupted {
        backend: "sled",
        message: "budget counter vanished".into(),
    })?;
    Ok(decode::<CounterRecord>(&bytes, "budget counter")?.calls)
}

#[async_trait]
impl BudgetStore for SledBudgets {
    /// The whole batch on the caller's thread (hot counters; see [`Database::run_here`]).
    async fn record_calls(
        &self,
        batch: &[(BudgetKey, u64)],
        now: Timestamp,
        window_secs: i64,
    ) -> StoreResult<Vec<u64>> {
        let keys: Vec<(Vec<u8>, u64)> = batch
            .iter()
            .map(|(k, n)| (key2(&k.tenant, k.jti.as_bytes()), *n))
            .collect();
        self.0
            .run_here(move |db| {
                keys.iter()
                    .map(|(key, n)| add_calls(db, key, *n, now, window_secs))
                    .collect()
            })
            .await
    }

    async fn calls(&self, key: &BudgetKey, now: Timestamp, window_secs: i64) -> StoreResult<u64> {
        let key = key2(&key.tenant, key.jti.as_bytes());
        self.0
            .run(move |db| {
                let Some(bytes) = db.budgets.get(&key).map_err(backend)? else {
                    return Ok(0);
                };
                let c = decode::<CounterRecord>(&bytes, "budget counter")?;
                Ok(if live(&c, now, window_secs) {
                    c.calls
                } else {
                    0
                })
            })
            .await
    }
}

//! Budget counting in rounds: concurrent calls' increments go to the store together,
//! one write per round (one statement on Postgres, one blocking hand-off on sled),
//! and each call still gets its own exact count.
//!
//! The same shape as the audit writer's group commit: a caller queues its increment,
//! then either a running round picks it up or it starts one for everything queued.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

use super::group_commit::run_detached;
use crate::domain::budget::{BudgetKey, WINDOW_SECS};
use crate::domain::time::Timestamp;
use crate::ports::{BudgetStore, StoreError, StoreResult};

type Ack = oneshot::Sender<StoreResult<u64>>;

struct Pending {
    key: BudgetKey,
    now: Timestamp,
    ack: Ack,
}

pub struct BudgetCounter {
    store: Arc<dyn BudgetStore>,
    queue: Mutex<Vec<Pending>>,
    /// Held by the task running a round.
    round: Arc<tokio::sync::Mutex<()>>,
}

impl BudgetCounter {
    pub fn new(store: Arc<dyn BudgetStore>) -> Arc<Self> {
        Arc::new(Self {
            store,
            queue: Mutex::new(Vec::new()),
            round: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    /// Counts one call against `key` and returns its place in the window (see
    /// [`BudgetStore::record_calls`]).
    pub async fn record_call(self: &Arc<Self>, key: BudgetKey, now: Timestamp) -> StoreResult<u64> {
        let (ack, mut done) = oneshot::channel();
        self.lock_queue().push(Pending { key, now, ack });
        // As the audit writer does: a running round picks our call up, or our turn
        // comes first and we run the round, holding the turn into it.
        let turn = tokio::select! {
            biased;
            counted = &mut done => return counted.unwrap_or_else(|_| Err(dropped())),
            turn = Arc::clone(&self.round).lock_owned() => turn,
        };
        let counter = Arc::clone(self);
        run_detached(async move { counter.run_round(turn).await }).await;
        done.await.unwrap_or_else(|_| Err(dropped()))
    }

    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Vec<Pending>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn run_round(&self, _turn: tokio::sync::OwnedMutexGuard<()>) {
        let batch = std::mem::take(&mut *self.lock_queue());
        let Some(now) = batch.iter().map(|p| p.now).max() else {
            return;
        };
        let mut keys: Vec<(BudgetKey, Vec<Ack>)> = Vec::new();
        for p in batch {
            match keys.iter_mut().find(|(k, _)| *k == p.key) {
                Some((_, acks)) => acks.push(p.ack),
                None => keys.push((p.key, vec![p.ack])),
            }
        }
        // One lock order for every writer (replicas included): no deadlocks.
        keys.sort_by(|a, b| (&a.0.tenant, &a.0.jti).cmp(&(&b.0.tenant, &b.0.jti)));
        let increments: Vec<(BudgetKey, u64)> = keys
            .iter()
            .map(|(k, acks)| (k.clone(), acks.len() as u64))
            .collect();
        let counted = self.store.record_calls(&increments, now, WINDOW_SECS).await;
        match counted {
            Ok(totals) if totals.len() == keys.len() => {
                for ((_, acks), total) in keys.into_iter().zip(totals) {
                    // This round's calls are the last `acks.len()` of the count.
                    let first = total.saturating_sub(acks.len() as u64);
                    for (place, ack) in (first + 1..).zip(acks) {
                        let _ = ack.send(Ok(place));
                    }
                }
            }
            Ok(_) => {
                let wrong = StoreError::InvalidRequest(
                    "budget store answered a different number of counters".into(),
                );
                fail_all(keys, &wrong);
            }
            Err(e) => fail_all(keys, &e),
        }
    }
}

fn fail_all(keys: Vec<(BudgetKey, Vec<Ack>)>, error: &StoreError) {
    for ack in keys.into_iter().flat_map(|(_, acks)| acks) {
        let _ = ack.send(Err(error.duplicate()));
    }
}

fn dropped() -> StoreError {
    StoreError::Unavailable {
        backend: "budgets",
        message: "the budget round ended without an answer".into(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::adapters::memory::MemoryBudgets;

    /// The memory store behind a round trip's delay and a gate (each write waits for
    /// a permit), counting its writes.
    struct TestStore {
        inner: MemoryBudgets,
        delay: std::time::Duration,
        permits: tokio::sync::Semaphore,
        writes: AtomicUsize,
    }

    impl TestStore {
        fn new(delay_ms: u64, permits: usize) -> Arc<Self> {
            Arc::new(Self {
                inner: MemoryBudgets::default(),
                delay: std::time::Duration::from_millis(delay_ms),
                permits: tokio::sync::Semaphore::new(permits),
                writes: AtomicUsize::new(0),
            })
        }

        /// Waits (for at most five seconds) until `n` writes have started.
        async fn started(&self, n: usize) {
            for _ in 0..500 {
                if self.writes.load(Ordering::SeqCst) >= n {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            panic!("write {n} never started");
        }
    }

    #[async_trait]
    impl BudgetStore for TestStore {
        async fn record_calls(
            &self,
            batch: &[(BudgetKey, u64)],
            now: Timestamp,
            window_secs: i64,
        ) -> StoreResult<Vec<u64>> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(self.delay).await;
            self.permits.acquire().await.unwrap().forget();
            self.inner.record_calls(batch, now, window_secs).await
        }

        async fn calls(
            &self,
            key: &BudgetKey,
            now: Timestamp,
            window_secs: i64,
        ) -> StoreResult<u64> {
            self.inner.calls(key, now, window_secs).await
        }
    }

    fn key(jti: &str) -> BudgetKey {
        BudgetKey {
            tenant: "acme".into(),
            jti: jti.into(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_calls_share_rounds_and_each_gets_its_own_place() {
        let store = TestStore::new(5, tokio::sync::Semaphore::MAX_PERMITS);
        let counter = BudgetCounter::new(Arc::clone(&store) as Arc<dyn BudgetStore>);
        let calls: Vec<_> = (0..64)
            .map(|i| {
                let counter = Arc::clone(&counter);
                let jti = if i % 2 == 0 { "a" } else { "b" };
                tokio::spawn(async move {
                    let place = counter
                        .record_call(key(jti), Timestamp::from_unix_seconds(1))
                        .await;
                    (jti, place.unwrap())
                })
            })
            .collect();
        let mut places = std::collections::HashMap::<&str, Vec<u64>>::new();
        for call in calls {
            let (jti, place) = call.await.unwrap();
            places.entry(jti).or_default().push(place);
        }
        for jti in ["a", "b"] {
            let mut got = places.remove(jti).unwrap();
            got.sort_unstable();
            assert_eq!(got, (1..=32).collect::<Vec<u64>>(), "token {jti}");
        }
        let writes = store.writes.load(Ordering::Relaxed);
        assert!(
            writes < 64,
            "64 calls took {writes} store writes: no rounds were shared"
        );
    }

    /// A call another round counted is answered when that round ends: the caller that
    /// starts a round keeps its turn for it, so no caller waits for the lock twice.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_call_counted_by_another_round_is_answered_when_it_ends() {
        let store = TestStore::new(0, 0);
        let counter = BudgetCounter::new(Arc::clone(&store) as Arc<dyn BudgetStore>);
        let first = queued(&counter).await; // its round now waits in the store
        let (second, third) = (queued(&counter).await, queued(&counter).await);
        store.permits.add_permits(1);
        store.started(2).await; // one round for the second and third calls
        let fourth = queued(&counter).await;
        store.permits.add_permits(1);
        let mut places = Vec::new();
        for caller in [first, second, third] {
            let answered = tokio::time::timeout(std::time::Duration::from_secs(5), caller).await;
            places.push(
                answered
                    .expect("answered while the fourth call's round waits")
                    .unwrap()
                    .unwrap(),
            );
        }
        places.sort_unstable();
        assert_eq!(places, [1, 2, 3]);
        store.permits.add_permits(1);
        assert_eq!(fourth.await.unwrap().unwrap(), 4);
        assert_eq!(
            store.writes.load(Ordering::SeqCst),
            3,
            "the second and third calls shared a round"
        );
    }

    /// Counts one call on a task of its own, first polling it once here: when this
    /// returns the call is queued and waits for its count or for the counter's lock.
    async fn queued(counter: &Arc<BudgetCounter>) -> tokio::task::JoinHandle<StoreResult<u64>> {
        use std::task::Poll;
        let counter = Arc::clone(counter);
        let mut call = Box::pin(async move {
            counter
                .record_call(key("a"), Timestamp::from_unix_seconds(1))
                .await
        });
        match std::future::poll_fn(|cx| Poll::Ready(call.as_mut().poll(cx))).await {
            Poll::Ready(done) => tokio::spawn(async move { done }),
            Poll::Pending => tokio::spawn(call),
        }
    }
}

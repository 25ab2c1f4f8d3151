//! The audit writer: seals events onto their tenant's chain and appends them in
//! batches (group commit).
//!
//! Callers put their event in a shared queue and then take the committer lock; whoever
//! holds it drains the whole queue, appends one run per chain, and acknowledges every
//! event in it. Under load one store write covers every concurrent request; an idle
//! gateway commits inline on the request's own task, with no hand-off to another thread.
//!
//! In `sync` durability a caller returns only once its event is committed, so a call is
//! never answered (or forwarded) without its record. In `async` durability events are
//! queued (bounded; overflow dropped and counted) and a background task commits them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Notify, OwnedMutexGuard, oneshot};
use tokio::task::JoinHandle;

use super::chain_append::{AuditFailure, Chains, append_run};
use super::group_commit::run_detached;
use crate::domain::audit::{AuditEvent, ChainedEvent, chain_key};
use crate::instruments as metrics;
use crate::ports::{AuditChainStore, EventSink};

/// How long shutdown waits for webhooks and SIEM sinks to deliver.
const SINK_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether a call waits for its audit event to be committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// The call waits for the commit; a failed commit fails the call.
    Sync,
    /// Events are queued (bounded); overflow is dropped and counted.
    Async,
}

type Ack = oneshot::Sender<Result<(), AuditFailure>>;

struct Job {
    event: AuditEvent,
    ack: Option<Ack>,
}

pub struct AuditWriter {
    store: Arc<dyn AuditChainStore>,
    durability: Durability,
    /// Events waiting for the next commit round.
    queue: Mutex<Vec<Job>>,
    /// Held by the task running a commit round; guards what the writer knows of each
    /// chain (its head, or that another writer extends it too).
    committer: Arc<tokio::sync::Mutex<Chains>>,
    /// Async mode: queue bound, and the wake-up for the background committer.
    capacity: usize,
    queued: Arc<Notify>,
    dropped: AtomicU64,
    /// Unix nanos of the last successful commit; 0 before the first.
    last_commit: std::sync::atomic::AtomicI64,
    /// Webhooks and SIEM forwarders: receive every committed event, in commit order.
    sinks: Vec<Arc<dyn EventSink>>,
}

impl AuditWriter {
    /// A writer; in async durability also starts its background committer (it holds
    /// only a weak reference; call [`AuditWriter::shutdown`] to commit what is queued).
    pub fn spawn(
        store: Arc<dyn AuditChainStore>,
        durability: Durability,
        capacity: usize,
        sinks: Vec<Arc<dyn EventSink>>,
    ) -> (Arc<Self>, Option<JoinHandle<()>>) {
        let writer = Arc::new(Self {
            store,
            durability,
            queue: Mutex::new(Vec::new()),
            committer: Arc::new(tokio::sync::Mutex::new(HashMap::new())),
            capacity: capacity.max(1),
            queued: Arc::new(Notify::new()),
            dropped: AtomicU64::new(0),
            last_commit: std::sync::atomic::AtomicI64::new(0),
            sinks,
        });
        let task = (durability == Durability::Async).then(|| {
            let (weak, queued) = (Arc::downgrade(&writer), Arc::clone(&writer.queued));
            tokio::spawn(async move {
                loop {
                    queued.notified().await;
                    let Some(writer) = weak.upgrade() else { break };
                    writer.commit_round().await;
                }
            })
        });
        (writer, task)
    }

    /// Records one event: committed before returning in sync mode, queued in async mode.
    pub async fn record(self: &Arc<Self>, event: AuditEvent) -> Result<(), AuditFailure> {
        if self.durability == Durability::Async {
            self.enqueue_async(event);
            return Ok(());
        }
        let (ack, mut done) = oneshot::channel();
        self.lock_queue().push(Job {
            event,
            ack: Some(ack),
        });
        // Either a running round picks our event up, or our turn comes first and we
        // run a round that commits everything queued, ours included. The turn is held
        // into the round: letting it go and queueing again sent every waiter round the
        // lock twice, each holding it for a round of its own, however empty.
        let dropped = |_| AuditFailure("audit writer dropped the event".into());
        tokio::select! {
            biased;
            committed = &mut done => return committed.map_err(dropped)?,
            turn = Arc::clone(&self.committer).lock_owned() => self.run_round(turn).await,
        }
        done.await.map_err(dropped)?
    }

    /// A commit round that outlives a caller who goes away mid-append: other
    /// callers' events too still commit, are acknowledged and reach the sinks.
    async fn run_round(self: &Arc<Self>, turn: OwnedMutexGuard<Chains>) {
        let writer = Arc::clone(self);
        run_detached(async move { writer.commit_with(turn).await }).await;
    }

    fn enqueue_async(&self, event: AuditEvent) {
        let mut queue = self.lock_queue();
        if queue.len() >= self.capacity {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            metrics::audit_dropped();
            return;
        }
        queue.push(Job { event, ack: None });
        metrics::audit_queue_depth(queue.len());
        drop(queue);
        self.queued.notify_one();
    }

    /// Commits whatever is queued (used on shutdown in async mode), then lets every
    /// sink deliver what it holds, within `grace`.
    pub async fn shutdown(&self) {
        self.commit_round().await;
        let sinks = futures_util::future::join_all(self.sinks.iter().map(|s| s.shutdown()));
        if tokio::time::timeout(SINK_GRACE, sinks).await.is_err() {
            tracing::warn!(
                grace_seconds = SINK_GRACE.as_secs(),
                "outbound sinks did not finish delivering within the shutdown grace"
            );
            for status in self.sink_status().iter().filter(|s| s.undelivered > 0) {
                tracing::warn!(
                    sink = status.name,
                    undelivered = status.undelivered,
                    "outbound sink still held events at the end of the shutdown grace; they are lost"
                );
            }
        }
    }

    /// The outbound sinks' status, for the integrations route.
    pub fn sink_status(&self) -> Vec<crate::ports::SinkStatus> {
        self.sinks.iter().map(|s| s.status()).collect()
    }

    /// Events dropped because the async queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// When an append last succeeded (for the chain-head-age gauge).
    pub fn last_commit(&self) -> Option<crate::domain::time::Timestamp> {
        let nanos = self.last_commit.load(Ordering::Relaxed);
        (nanos != 0).then(|| crate::domain::time::Timestamp::from_unix_nanos(nanos))
    }

    pub fn durability(&self) -> Durability {
        self.durability
    }

    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Vec<Job>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the committer lock and commits everything queued.
    async fn commit_round(&self) {
        self.commit_with(Arc::clone(&self.committer).lock_owned().await)
            .await;
    }

    async fn commit_with(&self, mut chains: OwnedMutexGuard<Chains>) {
        let batch = std::mem::take(&mut *self.lock_queue());
        metrics::audit_queue_depth(0);
        for (chain, group) in group_by_chain(batch) {
            let (events, acks): (Vec<AuditEvent>, Vec<Option<Ack>>) =
                group.into_iter().map(|job| (job.event, job.ack)).unzip();
            let (count, started) = (events.len(), std::time::Instant::now());
            let run = append_run(self.store.as_ref(), &mut chains, &chain, events).await;
            let failed = run.outcomes.iter().filter(|o| o.is_err()).count();
            metrics::audit_append(count, started.elapsed(), failed);
            if failed > 0 {
                metrics::store_error("audit");
                tracing::error!(chain = %chain, failed, of = count, "audit append failed");
            }
            self.committed(&run.committed);
            for (ack, outcome) in acks.into_iter().zip(run.outcomes) {
                if let Some(ack) = ack {
                    let _ = ack.send(outcome);
                }
            }
        }
    }
}

impl AuditWriter {
    /// After a commit: the head-age clock, and the sinks (stdout echo, webhook, SIEM).
    fn committed(&self, records: &[ChainedEvent]) {
        if let Some(last) = records.last() {
            self.last_commit
                .store(last.event.ts.unix_nanos(), Ordering::Relaxed);
        }
        for sink in &self.sinks {
            sink.offer_run(records);
        }
    }
}

/// Splits a batch into per-chain runs, keeping arrival order within each chain.
fn group_by_chain(jobs: Vec<Job>) -> Vec<(String, Vec<Job>)> {
    let mut groups: Vec<(String, Vec<Job>)> = Vec::new();
    for job in jobs {
        let chain = chain_key(&job.event.tenant);
        match groups.iter_mut().find(|(c, _)| c == chain) {
            Some((_, jobs)) => jobs.push(job),
            None => groups.push((chain.to_owned(), vec![job])),
        }
    }
    groups
}

//! The audit writer: one task that seals events onto their tenant's chain and appends
//! them in batches (group commit).
//!
//! In `sync` durability a caller waits until its event is committed, so a call is never
//! answered (or forwarded) without its record; concurrent callers share one store write.
//! In `async` durability events are queued (bounded) and dropped when the queue is full;
//! drops are counted.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::config::{AuditDurability, AuditTarget};
use crate::domain::audit::{AuditEvent, ChainHead, ChainedEvent, chain_key, seal};
use crate::ports::{AppendOutcome, AuditChainStore};

/// Events taken from the queue for one round of appends.
const MAX_BATCH: usize = 512;
/// Re-seal attempts when other writers (replicas) keep moving the head.
const MAX_HEAD_RETRIES: usize = 32;

/// The event could not be committed; the call must fail closed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("audit: {0}")]
pub struct AuditFailure(pub String);

struct Job {
    event: AuditEvent,
    ack: Option<oneshot::Sender<Result<(), AuditFailure>>>,
}

pub struct AuditWriter {
    tx: mpsc::Sender<Job>,
    durability: AuditDurability,
    dropped: AtomicU64,
}

impl AuditWriter {
    /// Starts the writer task. Drop every `Arc<AuditWriter>` and await the handle to
    /// drain the queue on shutdown.
    pub fn spawn(
        store: Arc<dyn AuditChainStore>,
        echo: AuditTarget,
        durability: AuditDurability,
        queue: usize,
    ) -> (Arc<Self>, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(queue.max(1));
        let task = tokio::spawn(run(store, rx, echo));
        (
            Arc::new(Self {
                tx,
                durability,
                dropped: AtomicU64::new(0),
            }),
            task,
        )
    }

    /// Records one event: committed before returning in sync mode, queued in async mode.
    pub async fn record(&self, event: AuditEvent) -> Result<(), AuditFailure> {
        match self.durability {
            AuditDurability::Async => {
                if self.tx.try_send(Job { event, ack: None }).is_err() {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            }
            AuditDurability::Sync => {
                let (ack, done) = oneshot::channel();
                let closed = || AuditFailure("audit writer is not running".into());
                self.tx
                    .send(Job {
                        event,
                        ack: Some(ack),
                    })
                    .await
                    .map_err(|_| closed())?;
                done.await.map_err(|_| closed())?
            }
        }
    }

    /// Events dropped because the async queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub fn durability(&self) -> AuditDurability {
        self.durability
    }
}

async fn run(store: Arc<dyn AuditChainStore>, mut rx: mpsc::Receiver<Job>, echo: AuditTarget) {
    let mut heads: HashMap<String, Option<ChainHead>> = HashMap::new();
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        for (chain, jobs) in group_by_chain(batch.drain(..)) {
            let events = jobs.iter().map(|j| j.event.clone()).collect();
            let result = append(store.as_ref(), &mut heads, &chain, events).await;
            if let (Ok(records), AuditTarget::Stdout) = (&result, echo) {
                print_lines(records);
            }
            let outcome = result.map(|_| ());
            if let Err(failure) = &outcome {
                tracing::error!(chain = %chain, error = %failure, "audit append failed");
            }
            for job in jobs {
                if let Some(ack) = job.ack {
                    let _ = ack.send(outcome.clone());
                }
            }
        }
    }
}

/// Splits a batch into per-chain runs, keeping arrival order within each chain.
fn group_by_chain(jobs: impl Iterator<Item = Job>) -> Vec<(String, Vec<Job>)> {
    let mut groups: Vec<(String, Vec<Job>)> = Vec::new();
    for job in jobs {
        let chain = chain_key(&job.event.tenant).to_owned();
        match groups.iter_mut().find(|(c, _)| *c == chain) {
            Some((_, jobs)) => jobs.push(job),
            None => groups.push((chain, vec![job])),
        }
    }
    groups
}

/// Seals and appends one chain's run, re-sealing on the head another writer moved.
async fn append(
    store: &dyn AuditChainStore,
    heads: &mut HashMap<String, Option<ChainHead>>,
    chain: &str,
    events: Vec<AuditEvent>,
) -> Result<Vec<ChainedEvent>, AuditFailure> {
    let fail = |e: &dyn std::fmt::Display| AuditFailure(e.to_string());
    let mut head = match heads.remove(chain) {
        Some(cached) => cached,
        None => store.head(chain).await.map_err(|e| fail(&e))?,
    };
    for _ in 0..MAX_HEAD_RETRIES {
        let run = seal(chain, head.as_ref(), events.clone());
        match store.append(&run).await.map_err(|e| fail(&e))? {
            AppendOutcome::Appended(new_head) => {
                heads.insert(chain.to_owned(), Some(new_head));
                return Ok(run);
            }
            AppendOutcome::HeadMoved { current } => head = current,
        }
    }
    Err(AuditFailure(format!(
        "chain {chain} head kept moving; gave up after retries"
    )))
}

fn print_lines(records: &[ChainedEvent]) {
    let mut text = String::with_capacity(records.len() * 512);
    for r in records {
        text.push_str(&r.event.to_json());
        text.push('\n');
    }
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

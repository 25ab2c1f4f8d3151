//! The audit log made checkable from outside the gateway: each chain's Merkle tree is
//! grown from its committed records, and signed checkpoints over it are issued when a
//! chain has `entries` new records or its last checkpoint is `interval` old, and on
//! demand. Growing reads records the audit writer has already committed, so the data
//! plane does no extra work per call; a checkpoint covers what was committed when it
//! was issued.
//!
//! Several replicas on one store may grow the same tree: the store's compare-and-swap
//! on the tree size lets one growth of each size land, and the others start again from
//! the new size. Each checkpoint is handed to the webhook and SIEM sinks by the
//! replica that issued it, so copies live outside the gateway (witnessing).

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::domain::audit::bundle::ProofBundle;
use crate::domain::audit::checkpoint::{CheckpointError, LogSigner, SignedCheckpoint};
use crate::domain::audit::merkle::{self, Hash, Question, TreeError};
use crate::ports::{AuditChainStore, Clock, EventSink, StoreError, TransparencyStore};

/// Records (their hashes only, under 100 bytes each) read per growth step when someone
/// waits for the tree (a checkpoint or proof asked for). Small enough that reading them
/// holds the memory store's lock for well under a millisecond; on sled and Postgres a
/// step is four store operations.
const PAGE: u32 = 2_000;
/// The background task grows trees in steps this small with a pause between them:
/// reading and hashing thousands of records in one go kept a core busy for tens of
/// milliseconds every few seconds, and calls on a two-core machine waited for it
/// (sled's p99 at 2,000 req/s, BENCHMARKS.md). That is at most 10,000 records a
/// second; a pass over the due chains is paced so for one tick.
const BACKGROUND_PAGE: u32 = 250;
const BACKGROUND_PAUSE: Duration = Duration::from_millis(25);
/// After that tick (a chain committing faster than the pace, or a backlog left by a
/// burst), each step is followed by a pause this many times its own length instead: at
/// most about a quarter of one thread's time, whatever the machine's speed. Before, it
/// went at full speed there, and the catch-up after a saturation run raised sled's p99
/// by half or more over the next seconds (BENCHMARKS.md). A busy machine lengthens the
/// steps and so slows the catch-up; under overload that lasts, the tree falls behind
/// and a checkpoint asked for grows the rest at once.
const CATCH_UP_YIELD: u32 = 3;
/// The shortest pause after a catch-up step: one that took no measurable time (the
/// memory store) still yields to the calls beside it.
const CATCH_UP_MIN_PAUSE: Duration = Duration::from_millis(1);
/// How often the background task looks for chains that are due.
const TICK: Duration = Duration::from_secs(5);

/// When checkpoints are issued without being asked for.
#[derive(Clone, Copy, Debug)]
pub struct CheckpointSchedule {
    /// A chain with new records gets a checkpoint once its last one is this old
    /// (`None`: age alone never makes a chain due) ...
    pub interval: Option<Duration>,
    /// ... or once it has this many records more than its last checkpoint. A chain
    /// that never had one is due at once.
    pub entries: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum TransparencyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Tree(#[from] TreeError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The memory store lets old records go; a tree that fell that far behind cannot
    /// take the ones still kept.
    #[error(
        "chain {chain:?}: its tree holds {size} records but the oldest record stored is {first}; the records between are gone"
    )]
    RecordsGone {
        chain: String,
        size: u64,
        first: u64,
    },
    /// The blocking task that hashed a growth step did not finish.
    #[error("growing the audit tree stopped: {0}")]
    GrowthInterrupted(String),
}

/// How fast a tree catches up with its chain.
#[derive(Clone, Copy)]
enum Pace {
    /// As fast as the store answers: someone is waiting.
    Asked,
    /// In steps of [`BACKGROUND_PAGE`] records, each but the last followed by a pause:
    /// [`BACKGROUND_PAUSE`] for a step begun before `until`, [`CATCH_UP_YIELD`] times the
    /// step's length (at least [`CATCH_UP_MIN_PAUSE`]) for one begun after.
    Background { until: Instant },
}

pub struct Transparency {
    trees: Arc<dyn TransparencyStore>,
    audit: Arc<dyn AuditChainStore>,
    signer: LogSigner,
    clock: Arc<dyn Clock>,
    sinks: Vec<Arc<dyn EventSink>>,
}

/// The hashing of one growth step, off the async workers: thousands of SHA-256 runs
/// in one go held a worker for milliseconds every few seconds, and the calls queued on
/// it waited that long (BENCHMARKS.md).
async fn hash_growth(
    size: u64,
    frontier: Vec<Hash>,
    records: Vec<(u64, String)>,
) -> Result<merkle::Growth, TransparencyError> {
    let hashed = tokio::task::spawn_blocking(move || {
        let leaves: Vec<Hash> = records.iter().map(|(_, h)| merkle::leaf_hash(h)).collect();
        merkle::grow(size, &frontier, &leaves)
    })
    .await
    .map_err(|e| TransparencyError::GrowthInterrupted(e.to_string()))?;
    Ok(hashed?)
}

/// Checks that `records` (the first at seq `first`) are the ones right after a tree of
/// `size` leaves, in order.
fn follows(
    chain: &str,
    size: u64,
    first: u64,
    records: &[(u64, String)],
) -> Result<(), TransparencyError> {
    if first != size + 1 {
        return Err(TransparencyError::RecordsGone {
            chain: chain.to_owned(),
            size,
            first,
        });
    }
    // A gap would put every later record at the wrong leaf: refuse to grow.
    if let Some((missing, _)) = (size + 1..).zip(records).find(|(want, r)| r.0 != *want) {
        return Err(TreeError::Inconsistent(format!(
            "chain {chain:?} has no record {missing} but has later ones"
        ))
        .into());
    }
    Ok(())
}

impl Transparency {
    pub fn new(
        trees: Arc<dyn TransparencyStore>,
        audit: Arc<dyn AuditChainStore>,
        signer: LogSigner,
        clock: Arc<dyn Clock>,
        sinks: Vec<Arc<dyn EventSink>>,
    ) -> Self {
        Self {
            trees,
            audit,
            signer,
            clock,
            sinks,
        }
    }

    /// The key auditors check checkpoints with.
    pub fn verifier_key(&self) -> &str {
        self.signer.verifier_key()
    }

    /// Grows `chain`'s tree to hold at least every record committed when it starts;
    /// returns its size.
    pub async fn integrate(&self, chain: &str) -> Result<u64, TransparencyError> {
        self.integrate_at(chain, Pace::Asked).await
    }

    /// Grows the tree up to the chain's head as it is now, not further: a chain that
    /// commits while it grows would otherwise keep it growing for as long as the load
    /// lasts.
    async fn integrate_at(&self, chain: &str, pace: Pace) -> Result<u64, TransparencyError> {
        let target = self.audit.head(chain).await?.map_or(0, |head| head.seq);
        let page = match pace {
            Pace::Asked => PAGE,
            Pace::Background { .. } => BACKGROUND_PAGE,
        };
        loop {
            let step_began = Instant::now();
            let size = self.trees.tree_size(chain).await?;
            let left = u32::try_from(target.saturating_sub(size)).unwrap_or(u32::MAX);
            if left == 0 {
                return Ok(size);
            }
            let records = self.audit.hashes(chain, size + 1, left.min(page)).await?;
            let Some(&(first, _)) = records.first() else {
                return Ok(size);
            };
            follows(chain, size, first, &records)?;
            let frontier = self
                .trees
                .read_hashes(chain, &merkle::frontier_indexes(size))
                .await?;
            let growth = hash_growth(size, frontier, records).await?;
            // `false`: another replica grew it first; go on from the size it reached.
            let grown = self.trees.grow(chain, &growth).await?;
            if let Pace::Background { until } = pace
                && grown
                && growth.to_size < target
            {
                let pause = match step_began < until {
                    true => BACKGROUND_PAUSE,
                    false => step_began
                        .elapsed()
                        .saturating_mul(CATCH_UP_YIELD)
                        .max(CATCH_UP_MIN_PAUSE),
                };
                tokio::time::sleep(pause).await;
            }
        }
    }

    /// Answers `question` about `chain`'s tree as stored (see [`Question::answer`]).
    pub async fn answer(
        &self,
        chain: &str,
        question: Question,
    ) -> Result<Vec<Hash>, TransparencyError> {
        let size = self.trees.tree_size(chain).await?;
        if question.size() > size {
            return Err(TreeError::OutOfRange(format!(
                "chain {chain:?} has a tree of {size} records, not {}",
                question.size()
            ))
            .into());
        }
        let indexes = question.indexes()?;
        let hashes = self.trees.read_hashes(chain, &indexes).await?;
        Ok(question.answer(&indexes, &hashes)?)
    }

    /// A checkpoint of `chain` as committed now, signed and kept; the kept one when a
    /// checkpoint of that size exists. `None` for a chain with no records.
    pub async fn checkpoint(
        &self,
        chain: &str,
    ) -> Result<Option<SignedCheckpoint>, TransparencyError> {
        let size = self.integrate(chain).await?;
        self.issue_at(chain, size).await
    }

    /// A checkpoint of `chain`'s tree at `size`, grown that far: signed and kept, or the
    /// one kept at that size already. `None` for an empty tree.
    async fn issue_at(
        &self,
        chain: &str,
        size: u64,
    ) -> Result<Option<SignedCheckpoint>, TransparencyError> {
        if size == 0 {
            return Ok(None);
        }
        if let Some(kept) = self.at_size(chain, size).await? {
            return Ok(Some(kept));
        }
        let root = self.root(chain, size).await?;
        let issued_at = self.clock.now().truncate_to_micros(); // as every store keeps it
        let signed = self.signer.sign(chain, size, root, issued_at)?;
        if self.trees.record_checkpoint(&signed).await? {
            tracing::debug!(chain, size, "issued audit checkpoint");
            for sink in &self.sinks {
                sink.offer_checkpoint(&signed);
            }
            return Ok(Some(signed));
        }
        // Another replica kept one of this size first: serve that one.
        Ok(self.at_size(chain, size).await?)
    }

    /// A checkpoint covering `chain`'s record `seq` (issued now if needed) and the
    /// proof that the record, of chain hash `hash`, is in its tree: what an export
    /// with proofs ends each chain with.
    pub async fn bundle(
        &self,
        chain: &str,
        seq: u64,
        hash: &str,
    ) -> Result<ProofBundle, TransparencyError> {
        let checkpoint = self.checkpoint(chain).await?.filter(|c| c.size >= seq);
        let Some(checkpoint) = checkpoint else {
            return Err(TreeError::OutOfRange(format!(
                "chain {chain:?} has no checkpoint covering record {seq}"
            ))
            .into());
        };
        let question = Question::Inclusion {
            size: checkpoint.size,
            leaf: seq.saturating_sub(1),
        };
        let proof = self.answer(chain, question).await?;
        Ok(ProofBundle::new(&checkpoint, seq, hash, &proof))
    }

    /// The newest checkpoint of `chain`, if any was issued.
    pub async fn latest(&self, chain: &str) -> Result<Option<SignedCheckpoint>, StoreError> {
        Ok(self
            .trees
            .checkpoints(chain, None, 1)
            .await?
            .into_iter()
            .next())
    }

    /// Issues a checkpoint for every chain that is due under `schedule`, growing each
    /// tree at the background's pace first (a 25 ms pause per 250 records for one
    /// tick, then a pause three times each step's length); returns how many were
    /// issued.
    pub async fn issue_due(
        &self,
        schedule: CheckpointSchedule,
    ) -> Result<usize, TransparencyError> {
        let mut issued = 0;
        let until = Instant::now() + TICK;
        for chain in self.audit.chains().await? {
            if !self.is_due(&chain, schedule).await? {
                continue;
            }
            // Signed at the size the paced growth reached: growing it by what was
            // committed meanwhile would be a burst at full speed after all.
            let size = self
                .integrate_at(&chain, Pace::Background { until })
                .await?;
            if self.issue_at(&chain, size).await?.is_some() {
                issued += 1;
            }
        }
        Ok(issued)
    }

    /// Runs [`Transparency::issue_due`] in the background until the process ends.
    pub fn spawn(self: Arc<Self>, schedule: CheckpointSchedule) {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(TICK);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if let Err(e) = self.issue_due(schedule).await {
                    tracing::warn!(error = %e, "audit checkpoints not issued");
                }
            }
        });
    }

    async fn is_due(
        &self,
        chain: &str,
        schedule: CheckpointSchedule,
    ) -> Result<bool, TransparencyError> {
        let Some(head) = self.audit.head(chain).await? else {
            return Ok(false);
        };
        let Some(last) = self.latest(chain).await? else {
            return Ok(true);
        };
        if head.seq <= last.size {
            return Ok(false);
        }
        let age_nanos = self.clock.now().unix_nanos() - last.issued_at.unix_nanos();
        let old = schedule
            .interval
            .is_some_and(|every| u128::try_from(age_nanos).unwrap_or(0) >= every.as_nanos());
        Ok(old || head.seq - last.size >= schedule.entries)
    }

    async fn at_size(
        &self,
        chain: &str,
        size: u64,
    ) -> Result<Option<SignedCheckpoint>, StoreError> {
        let kept = self.trees.checkpoints(chain, Some(size + 1), 1).await?;
        Ok(kept.into_iter().find(|c| c.size == size))
    }

    async fn root(&self, chain: &str, size: u64) -> Result<Hash, TransparencyError> {
        let answer = self.answer(chain, Question::Root { size }).await?;
        answer.first().copied().ok_or_else(|| {
            TreeError::Inconsistent(format!("no root for chain {chain:?} at {size}")).into()
        })
    }
}

#[cfg(test)]
#[path = "transparency_tests.rs"]
mod tests;

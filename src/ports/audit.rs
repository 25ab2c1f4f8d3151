//! The audit chain store: append-only, one hash chain per tenant.

use async_trait::async_trait;

use super::{StoreError, StoreResult};
use crate::domain::audit::{AuditEvent, AuditQuery, ChainHead, ChainedEvent, seal};

/// How often [`AuditChainStore::append_exclusive`] seals again on a head a writer out
/// of turn moved first, before it gives up.
pub const MAX_RACES: usize = 32;

/// Result of an append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    /// Every record was written; this is the new head.
    Appended(ChainHead),
    /// The chain's head is no longer the one the records were sealed against; nothing
    /// was written. Carries the current head so the caller can re-seal and retry.
    HeadMoved { current: Option<ChainHead> },
}

/// Persists sealed chains. Sealing (hashing, linking) is the domain's job
/// ([`crate::domain::audit::seal`]); the store guarantees the chain never forks.
#[async_trait]
pub trait AuditChainStore: Send + Sync {
    /// The last record of `chain`, `Ok(None)` when the chain is empty.
    async fn head(&self, chain: &str) -> StoreResult<Option<ChainHead>>;

    /// Appends `records` atomically, all or nothing, if and only if the chain's head is
    /// still the one they were sealed against: `records[0].seq` is head.seq + 1 (1 for
    /// an empty chain) and `records[0].prev_hash` equals the head's hash (empty for an
    /// empty chain). Otherwise returns `HeadMoved` and writes nothing; the writer then
    /// appends the run in turn ([`AuditChainStore::append_exclusive`]).
    /// `records` must be non-empty, of one chain, and contiguous (`seq` rising by one,
    /// each `prev_hash` the previous `hash`); a run that is not returns
    /// `Err(StoreError::InvalidRequest)`.
    async fn append(&self, records: &[ChainedEvent]) -> StoreResult<AppendOutcome>;

    /// Appends `events` to `chain` sealed ([`seal`]) on the head as it stands once no
    /// other writer can move it, and returns the records written. For a writer that
    /// lost a race for the head: writers of one chain then take turns instead of racing
    /// again, each race costing a refused write. The default reads the head, seals and
    /// appends, again while another writer moves the head first (up to 32 times, then
    /// `Unavailable`); a store that several processes write serializes them instead.
    async fn append_exclusive(
        &self,
        chain: &str,
        events: &[AuditEvent],
    ) -> StoreResult<Vec<ChainedEvent>> {
        for _ in 0..MAX_RACES {
            let head = self.head(chain).await?;
            let run = seal(chain, head.as_ref(), events.to_vec());
            if let AppendOutcome::Appended(_) = self.append(&run).await? {
                return Ok(run);
            }
        }
        Err(StoreError::Unavailable {
            backend: "audit",
            message: format!("chain {chain} head kept moving; gave up after retries"),
        })
    }

    /// Up to `limit` records of `chain` with `seq >= from_seq`, ascending by `seq`.
    /// An unknown chain or a start past the head gives `Ok(vec![])`.
    async fn range(&self, chain: &str, from_seq: u64, limit: u32)
    -> StoreResult<Vec<ChainedEvent>>;

    /// The `seq` and chain hash of up to `limit` records of `chain` with
    /// `seq >= from_seq`, ascending: [`AuditChainStore::range`] without the events,
    /// which is all a chain's Merkle tree is grown from.
    async fn hashes(
        &self,
        chain: &str,
        from_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<(u64, String)>>;

    /// Records matching `query` across chains, newest first
    /// ([`crate::domain::audit::newest_first`]), skipping `query.offset` and returning
    /// at most `query.effective_limit()`.
    async fn query(&self, query: &AuditQuery) -> StoreResult<Vec<ChainedEvent>>;

    /// How many records match `query`, ignoring its limit and offset.
    async fn count(&self, query: &AuditQuery) -> StoreResult<u64>;

    /// The key of every chain that has a record, in byte order of the key.
    async fn chains(&self) -> StoreResult<Vec<String>>;
}

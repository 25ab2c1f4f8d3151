//! Each chain's Merkle tree and its signed checkpoints: what makes a rewrite of a whole
//! chain provable ([`crate::domain::audit::merkle`] has the tree math; this port only
//! keeps what the math produced).

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::audit::checkpoint::SignedCheckpoint;
use crate::domain::audit::merkle::{Growth, Hash};

#[async_trait]
pub trait TransparencyStore: Send + Sync {
    /// How many leaves (records) `chain`'s stored tree holds; 0 for an unknown chain.
    async fn tree_size(&self, chain: &str) -> StoreResult<u64>;

    /// The stored hashes of `chain` at `indexes`, in the order asked. An index the tree
    /// has not stored is `Err(StoreError::InvalidRequest)`: never a made-up hash.
    async fn read_hashes(&self, chain: &str, indexes: &[u64]) -> StoreResult<Vec<Hash>>;

    /// Stores `growth` if and only if `chain`'s tree still holds `growth.from_size`
    /// leaves: all of `growth.hashes` at `first_index..` and the size `growth.to_size`,
    /// atomically. `Ok(false)` (nothing written) when another writer grew the tree
    /// first. A growth that fails [`Growth::check`] is `Err(StoreError::InvalidRequest)`.
    async fn grow(&self, chain: &str, growth: &Growth) -> StoreResult<bool>;

    /// Keeps `checkpoint` in its chain's history. A checkpoint of a size already kept
    /// is not stored twice (`Ok(false)`); the first one stays.
    async fn record_checkpoint(&self, checkpoint: &SignedCheckpoint) -> StoreResult<bool>;

    /// Up to `limit` checkpoints of `chain`, largest size first, only those with
    /// `size < below` when `below` is given.
    async fn checkpoints(
        &self,
        chain: &str,
        below: Option<u64>,
        limit: u32,
    ) -> StoreResult<Vec<SignedCheckpoint>>;
}

/// The error for a stored hash that is not there.
pub fn hash_not_stored(chain: &str, index: u64) -> super::StoreError {
    super::StoreError::InvalidRequest(format!(
        "tree hash {index} of chain {chain:?} is not stored"
    ))
}

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::lock;
use crate::domain::audit::checkpoint::SignedCheckpoint;
use crate::domain::audit::merkle::{Growth, Hash};
use crate::ports::{StoreError, StoreResult, TransparencyStore, hash_not_stored};

/// Trees and checkpoints by chain. Unlike the audit records, tree hashes are not
/// dropped: 64 bytes a record on average, and the root must pin every record ever
/// written, including those the memory store has let go.
#[derive(Default)]
pub struct MemoryTransparency {
    trees: Mutex<BTreeMap<String, Tree>>,
}

#[derive(Default)]
struct Tree {
    size: u64,
    hashes: Vec<Hash>,
    checkpoints: BTreeMap<u64, SignedCheckpoint>,
}

#[async_trait]
impl TransparencyStore for MemoryTransparency {
    async fn tree_size(&self, chain: &str) -> StoreResult<u64> {
        Ok(lock(&self.trees).get(chain).map_or(0, |t| t.size))
    }

    async fn read_hashes(&self, chain: &str, indexes: &[u64]) -> StoreResult<Vec<Hash>> {
        let trees = lock(&self.trees);
        let stored = trees.get(chain).map_or(&[][..], |t| &t.hashes[..]);
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| stored.get(i).copied())
                    .ok_or_else(|| hash_not_stored(chain, i))
            })
            .collect()
    }

    async fn grow(&self, chain: &str, growth: &Growth) -> StoreResult<bool> {
        growth.check().map_err(StoreError::from)?;
        let mut trees = lock(&self.trees);
        let tree = trees.entry(chain.to_owned()).or_default();
        if tree.size != growth.from_size {
            return Ok(false);
        }
        tree.hashes.extend_from_slice(&growth.hashes);
        tree.size = growth.to_size;
        Ok(true)
    }

    async fn record_checkpoint(&self, checkpoint: &SignedCheckpoint) -> StoreResult<bool> {
        let mut trees = lock(&self.trees);
        let tree = trees.entry(checkpoint.chain.clone()).or_default();
        if tree.checkpoints.contains_key(&checkpoint.size) {
            return Ok(false);
        }
        tree.checkpoints.insert(checkpoint.size, checkpoint.clone());
        Ok(true)
    }

    async fn checkpoints(
        &self,
        chain: &str,
        below: Option<u64>,
        limit: u32,
    ) -> StoreResult<Vec<SignedCheckpoint>> {
        let trees = lock(&self.trees);
        let Some(tree) = trees.get(chain) else {
            return Ok(Vec::new());
        };
        Ok(tree
            .checkpoints
            .range(..below.unwrap_or(u64::MAX))
            .rev()
            .take(limit as usize)
            .map(|(_, c)| c.clone())
            .collect())
    }
}

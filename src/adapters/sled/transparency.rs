use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::ConflictableTransactionError;

use super::codec::{decode, encode};
use super::{Database, backend, key2, tx_error};
use crate::domain::audit::checkpoint::SignedCheckpoint;
use crate::domain::audit::merkle::{Growth, Hash};
use crate::domain::time::Timestamp;
use crate::ports::{StoreError, StoreResult, TransparencyStore, hash_not_stored};

/// Tree sizes under `chain`, stored hashes under `chain 0 index_be` (32 raw bytes),
/// checkpoints under `chain 0 size_be` (JSON). A growth is one transaction over the
/// size and the hashes, flushed before it is acknowledged, like an audit append.
pub(super) struct SledTransparency(pub Arc<Database>);

#[derive(Serialize, Deserialize)]
struct CheckpointRecord {
    root: String,
    note: String,
    issued_at: i64,
}

fn size_of(bytes: Option<impl AsRef<[u8]>>) -> u64 {
    bytes
        .and_then(|b| b.as_ref().try_into().ok())
        .map_or(0, u64::from_be_bytes)
}

#[async_trait]
impl TransparencyStore for SledTransparency {
    async fn tree_size(&self, chain: &str) -> StoreResult<u64> {
        let chain = chain.to_owned();
        self.0
            .run(move |db| Ok(size_of(db.tree_sizes.get(chain).map_err(backend)?)))
            .await
    }

    async fn read_hashes(&self, chain: &str, indexes: &[u64]) -> StoreResult<Vec<Hash>> {
        let (chain, indexes) = (chain.to_owned(), indexes.to_vec());
        self.0
            .run(move |db| {
                indexes
                    .iter()
                    .map(|&i| {
                        let stored = db
                            .tree_hashes
                            .get(key2(&chain, &i.to_be_bytes()))
                            .map_err(backend)?;
                        stored
                            .and_then(|b| <[u8; 32]>::try_from(b.as_ref()).ok())
                            .map(Hash)
                            .ok_or_else(|| hash_not_stored(&chain, i))
                    })
                    .collect()
            })
            .await
    }

    async fn grow(&self, chain: &str, growth: &Growth) -> StoreResult<bool> {
        growth.check().map_err(StoreError::from)?;
        let (chain, growth) = (chain.to_owned(), growth.clone());
        let grown = self
            .0
            .run(move |db| {
                (&db.tree_sizes, &db.tree_hashes)
                    .transaction(|(sizes, hashes)| {
                        let size = size_of(sizes.get(chain.as_bytes())?);
                        if size != growth.from_size {
                            return Ok(false);
                        }
                        for (index, hash) in (growth.first_index..).zip(&growth.hashes) {
                            hashes.insert(key2(&chain, &index.to_be_bytes()), &hash.0[..])?;
                        }
                        sizes.insert(chain.as_bytes(), &growth.to_size.to_be_bytes()[..])?;
                        Ok::<_, ConflictableTransactionError<StoreError>>(true)
                    })
                    .map_err(tx_error)
            })
            .await?;
        if grown {
            self.0.flush().await?;
        }
        Ok(grown)
    }

    async fn record_checkpoint(&self, checkpoint: &SignedCheckpoint) -> StoreResult<bool> {
        let key = key2(&checkpoint.chain, &checkpoint.size.to_be_bytes());
        let value = encode(&CheckpointRecord {
            root: hex::encode(checkpoint.root.0),
            note: checkpoint.note.clone(),
            issued_at: checkpoint.issued_at.unix_nanos(),
        })?;
        let kept = self
            .0
            .run(move |db| {
                let swapped = db
                    .checkpoints
                    .compare_and_swap(key, None::<&[u8]>, Some(value))
                    .map_err(backend)?;
                Ok(swapped.is_ok())
            })
            .await?;
        if kept {
            self.0.flush().await?;
        }
        Ok(kept)
    }

    async fn checkpoints(
        &self,
        chain: &str,
        below: Option<u64>,
        limit: u32,
    ) -> StoreResult<Vec<SignedCheckpoint>> {
        let chain = chain.to_owned();
        self.0
            .run(move |db| {
                let lo = key2(&chain, &0u64.to_be_bytes());
                let hi = key2(&chain, &below.unwrap_or(u64::MAX).to_be_bytes());
                db.checkpoints
                    .range(lo..hi)
                    .rev()
                    .take(limit as usize)
                    .map(|entry| {
                        let (key, value) = entry.map_err(backend)?;
                        read_checkpoint(&chain, &key, &value)
                    })
                    .collect()
            })
            .await
    }
}

fn read_checkpoint(chain: &str, key: &[u8], value: &[u8]) -> StoreResult<SignedCheckpoint> {
    let record: CheckpointRecord = decode(value, "checkpoint")?;
    let size = key
        .len()
        .checked_sub(8)
        .and_then(|at| key[at..].try_into().ok())
        .map(u64::from_be_bytes);
    let root = hex::decode(&record.root)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok());
    match (size, root) {
        (Some(size), Some(root)) => Ok(SignedCheckpoint {
            chain: chain.to_owned(),
            size,
            root: Hash(root),
            note: record.note,
            issued_at: Timestamp::from_unix_nanos(record.issued_at),
        }),
        _ => Err(StoreError::Backend {
            backend: "sled",
            source: format!("malformed checkpoint record in chain {chain:?}").into(),
        }),
    }
}

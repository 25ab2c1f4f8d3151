use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::codec::{decode, encode};
use super::{Database, SledDb, backend, is_key_of, key2};
use crate::domain::audit::checkpoint::SignedCheckpoint;
use crate::domain::audit::merkle::{Growth, Hash};
use crate::domain::audit::tiles;
use crate::domain::time::Timestamp;
use crate::ports::{StoreError, StoreResult, TransparencyStore, hash_not_stored};

/// Tree sizes under `chain`; stored hashes in tiles (`domain::audit::tiles`) under
/// `chain 0 tile_be`; checkpoints under `chain 0 size_be` (JSON). Growths are
/// serialized in-process (sled locks its directory, so this process is the only
/// writer), which makes the read-modify-write of a growth's first tile safe.
pub(super) struct SledTransparency {
    pub db: Arc<Database>,
    pub growing: tokio::sync::Mutex<()>,
}

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

fn tile_key(chain: &str, tile: u64) -> Vec<u8> {
    key2(chain, &tile.to_be_bytes())
}

/// Writes `hashes` at stored indexes `first..`. Bytes already in the first tile past
/// `first` (left by a growth a crash cut short) are replaced.
fn write_tiles(db: &SledDb, chain: &str, first: u64, hashes: &[Hash]) -> StoreResult<()> {
    for run in tiles::runs(first, hashes) {
        let key = tile_key(chain, run.tile);
        let mut bytes = Vec::with_capacity(run.offset + run.bytes.len());
        if run.offset > 0 {
            let old = db.tree_tiles.get(&key).map_err(backend)?;
            let old = old.as_deref().unwrap_or_default();
            bytes.extend_from_slice(old.get(..run.offset).unwrap_or(old));
        }
        bytes.extend_from_slice(&run.bytes);
        db.tree_tiles.insert(key, bytes).map_err(backend)?;
    }
    Ok(())
}

/// The hashes at `indexes`, each tile read once.
fn read_tiles(db: &SledDb, chain: &str, indexes: &[u64]) -> StoreResult<Vec<Hash>> {
    let mut read: BTreeMap<u64, Option<sled::IVec>> = BTreeMap::new();
    indexes
        .iter()
        .map(|&i| {
            let (tile, _) = tiles::locate(i);
            let bytes = match read.entry(tile) {
                Entry::Occupied(known) => known.into_mut(),
                Entry::Vacant(slot) => {
                    let got = db.tree_tiles.get(tile_key(chain, tile)).map_err(backend)?;
                    slot.insert(got)
                }
            };
            bytes
                .as_deref()
                .and_then(|b| tiles::hash_at(b, i))
                .ok_or_else(|| hash_not_stored(chain, i))
        })
        .collect()
}

#[async_trait]
impl TransparencyStore for SledTransparency {
    async fn tree_size(&self, chain: &str) -> StoreResult<u64> {
        let chain = chain.to_owned();
        self.db
            .run(move |db| Ok(size_of(db.tree_sizes.get(chain).map_err(backend)?)))
            .await
    }

    async fn read_hashes(&self, chain: &str, indexes: &[u64]) -> StoreResult<Vec<Hash>> {
        let (chain, indexes) = (chain.to_owned(), indexes.to_vec());
        self.db
            .run(move |db| read_tiles(db, &chain, &indexes))
            .await
    }

    /// Not a sled transaction: sled 0.34 runs transactions (and batches) under a
    /// global write lock, so a growth of thousands of hashes stalled every audit
    /// append and budget increment meanwhile. Hashes past the stored size are never
    /// read, so they are written first and the size moved after. Nor is it flushed:
    /// the tree is derived from records written before it (sled recovers a prefix of
    /// its log), and a growth a crash loses is grown again, to the same hashes.
    async fn grow(&self, chain: &str, growth: &Growth) -> StoreResult<bool> {
        growth.check().map_err(StoreError::from)?;
        let _one_at_a_time = self.growing.lock().await;
        let (chain, growth) = (chain.to_owned(), growth.clone());
        self.db
            .run(move |db| {
                let size = size_of(db.tree_sizes.get(chain.as_bytes()).map_err(backend)?);
                if size != growth.from_size {
                    return Ok(false);
                }
                write_tiles(db, &chain, growth.first_index, &growth.hashes)?;
                let to = growth.to_size.to_be_bytes();
                db.tree_sizes
                    .insert(chain.as_bytes(), &to[..])
                    .map_err(backend)?;
                Ok(true)
            })
            .await
    }

    async fn record_checkpoint(&self, checkpoint: &SignedCheckpoint) -> StoreResult<bool> {
        let key = key2(&checkpoint.chain, &checkpoint.size.to_be_bytes());
        let value = encode(&CheckpointRecord {
            root: hex::encode(checkpoint.root.0),
            note: checkpoint.note.clone(),
            issued_at: checkpoint.issued_at.unix_nanos(),
        })?;
        let kept = self
            .db
            .run(move |db| {
                let swapped = db
                    .checkpoints
                    .compare_and_swap(key, None::<&[u8]>, Some(value))
                    .map_err(backend)?;
                if swapped.is_ok() {
                    db.flush()?;
                }
                Ok(swapped.is_ok())
            })
            .await?;
        Ok(kept)
    }

    async fn checkpoints(
        &self,
        chain: &str,
        below: Option<u64>,
        limit: u32,
    ) -> StoreResult<Vec<SignedCheckpoint>> {
        let chain = chain.to_owned();
        self.db
            .run(move |db| {
                let lo = key2(&chain, &0u64.to_be_bytes());
                let hi = key2(&chain, &below.unwrap_or(u64::MAX).to_be_bytes());
                db.checkpoints
                    .range(lo..hi)
                    .rev()
                    .filter(|entry| {
                        entry
                            .as_ref()
                            .map_or(true, |(key, _)| is_key_of(&chain, key))
                    })
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

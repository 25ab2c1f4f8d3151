//! How the sled store lays out audit records: the keys of records, heads and the time
//! index, and reading a head or a record back. Shared by the audit port's reads and
//! the run writer (`audit_runs`).
//!
//! Records under `chain 0 seq_be`, heads under `chain`, and a time index for
//! newest-first queries whose keys are the bitwise complement of `ts_be chain 0 seq_be`,
//! so that ascending key order is newest first: sled 0.34 steps forward from a cached
//! node but re-descends the tree and copies a node for every backward step, which made
//! reverse scans several times slower than forward ones. The index keys are prefix-free
//! (fixed-width time and seq, a terminated chain name) for chain names without a 0 byte,
//! so the complement reverses their order exactly (RELIABILITY.md: known limits).

use super::codec::{HeadRecord, decode, decode_event};
use super::{SledDb, backend, key2};
use crate::domain::audit::{ChainHead, ChainedEvent};
use crate::domain::time::Timestamp;
use crate::ports::StoreResult;

/// `chain 0 seq`; the chain as text or as stored (bytes).
pub(super) fn record_key(chain: impl AsRef<[u8]>, seq: u64) -> Vec<u8> {
    key2(chain, &seq.to_be_bytes())
}

/// Big-endian with the sign bit flipped, so byte order is time order.
pub(super) fn time_bytes(t: Timestamp) -> [u8; 8] {
    ((t.unix_nanos() as u64) ^ (1 << 63)).to_be_bytes()
}

/// `ts chain 0 seq` in time order (not yet complemented).
pub(super) fn time_order_key(ts: Timestamp, chain: &str, seq: u64) -> Vec<u8> {
    let mut k = time_bytes(ts).to_vec();
    k.extend_from_slice(&record_key(chain, seq));
    k
}

pub(super) fn complement(mut key: Vec<u8>) -> Vec<u8> {
    key.iter_mut().for_each(|b| *b = !*b);
    key
}

pub(super) fn time_key(r: &ChainedEvent) -> Vec<u8> {
    complement(time_order_key(r.event.ts, &r.chain, r.seq))
}

/// The position of `chain`'s head; 0 for a chain with no records.
pub(super) fn head_seq(db: &SledDb, chain: &[u8]) -> StoreResult<u64> {
    let head = read_head(db.audit_heads.get(chain).map_err(backend)?)?;
    Ok(head.map_or(0, |h| h.seq))
}

pub(super) fn decode_record(bytes: &[u8]) -> StoreResult<ChainedEvent> {
    decode_event(bytes)
}

pub(super) fn read_head(bytes: Option<sled::IVec>) -> StoreResult<Option<ChainHead>> {
    bytes
        .map(|b| decode::<HeadRecord>(&b, "audit head").map(ChainHead::from))
        .transpose()
}

/// A record key's chain and position: `chain 0 seq`, the position 8 bytes.
pub(super) fn position_of(key: &[u8]) -> StoreResult<(&[u8], u64)> {
    let corrupted = || crate::ports::StoreError::Corrupted {
        backend: "sled",
        message: "audit record key shorter than its position".into(),
    };
    let split = key.len().checked_sub(9).ok_or_else(corrupted)?;
    let seq: [u8; 8] = key[split + 1..].try_into().map_err(|_| corrupted())?;
    Ok((&key[..split], u64::from_be_bytes(seq)))
}

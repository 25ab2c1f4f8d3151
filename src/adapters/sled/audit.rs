use std::collections::HashMap;
use std::ops::Bound;
use std::sync::Arc;

use async_trait::async_trait;

use super::codec::{
    HeadRecord, decode, decode_event, decode_position, decode_v1_event, encode, encode_event,
};
use super::{Database, SledDb, backend, key2};
use crate::domain::audit::{AuditQuery, ChainHead, ChainedEvent};
use crate::domain::audit::{check_run, extends};
use crate::domain::time::Timestamp;
use crate::ports::{AppendOutcome, AuditChainStore, StoreResult};

/// Records under `chain 0 seq_be`, heads under `chain`, and a time index for
/// newest-first queries whose keys are the bitwise complement of `ts_be chain 0 seq_be`,
/// so that ascending key order is newest first: sled 0.34 steps forward from a cached
/// node but re-descends the tree and copies a node for every backward step, which made
/// reverse scans several times slower than forward ones. The index keys are prefix-free
/// (fixed-width time and seq, a terminated chain name), so the complement reverses their
/// order exactly.
///
/// Appends are serialized in-process (sled locks its directory, so this process is the
/// only writer; the gateway's audit writer commits one batch at a time anyway), which
/// is what lets [`write_run`] check the head and write without a transaction.
pub(super) struct SledAudit {
    pub db: Arc<Database>,
    pub appending: tokio::sync::Mutex<()>,
}

fn record_key(chain: &str, seq: u64) -> Vec<u8> {
    key2(chain, &seq.to_be_bytes())
}

/// Big-endian with the sign bit flipped, so byte order is time order.
fn time_bytes(t: Timestamp) -> [u8; 8] {
    ((t.unix_nanos() as u64) ^ (1 << 63)).to_be_bytes()
}

/// `ts chain 0 seq` in time order (not yet complemented).
fn time_order_key(ts: Timestamp, chain: &str, seq: u64) -> Vec<u8> {
    let mut k = time_bytes(ts).to_vec();
    k.extend_from_slice(&record_key(chain, seq));
    k
}

fn complement(mut key: Vec<u8>) -> Vec<u8> {
    key.iter_mut().for_each(|b| *b = !*b);
    key
}

fn time_key(r: &ChainedEvent) -> Vec<u8> {
    complement(time_order_key(r.event.ts, &r.chain, r.seq))
}

/// The query's window as bounds on the complemented index, newest first. The time part
/// of a key is fixed-width, so both window ends are bounds on that prefix alone and hold
/// whatever bytes the chain name has: keys at `to` start with `!to` (inclusive start),
/// keys at `from` sort before `!(from - 1ns)` (exclusive end). A cursor is a whole key,
/// and the walk resumes just past it when it lies inside the window.
fn index_bounds(query: &AuditQuery) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let newest = |ts: Timestamp| Bound::Included(complement(time_bytes(ts).to_vec()));
    let start = match (&query.after, query.to) {
        (Some(c), to) if to.is_none_or(|to| c.ts <= to) => {
            Bound::Excluded(complement(time_order_key(c.ts, &c.chain, c.seq)))
        }
        (_, Some(to)) => newest(to),
        (_, None) => Bound::Unbounded,
    };
    let end = match query.from.map(Timestamp::unix_nanos) {
        Some(from) if from > i64::MIN => Bound::Excluded(complement(
            time_bytes(Timestamp::from_unix_nanos(from - 1)).to_vec(),
        )),
        _ => Bound::Unbounded,
    };
    (start, end)
}

/// Upgrades schema version 1 in place: records from JSON to postcard, and the time
/// index rebuilt whole from the records with complemented keys. Safe to run again after
/// a crash part way: a record already in postcard is kept as it is. Returns how many
/// records were rewritten.
pub(super) fn upgrade_from_v1(db: &SledDb) -> StoreResult<u64> {
    db.audit_by_time.clear().map_err(backend)?;
    let mut rewritten = 0;
    for kv in db.audit.iter() {
        let (key, stored) = kv.map_err(backend)?;
        let record = match decode_v1_event(&stored) {
            Ok(v1) => {
                let record = ChainedEvent::try_from(v1)?;
                let value = encode_event(&record)?;
                db.audit.insert(&key, value).map_err(backend)?;
                rewritten += 1;
                record
            }
            Err(not_v1) => decode_record(&stored).map_err(|_| not_v1)?,
        };
        db.audit_by_time
            .insert(time_key(&record), key)
            .map_err(backend)?;
    }
    Ok(rewritten)
}

/// Decodes records on the calling (async) thread rather than on the blocking pool: the
/// caller is where they are dropped, and glibc's allocator frees memory allocated by
/// another thread several times slower (a verify or export of a long chain spent a
/// third of its time in malloc and free). The blocking side only collects sled's
/// reference-counted values.
/// The stored bytes of up to `limit` finished records of `chain` from `from_seq`,
/// ascending. Nothing past the head: readers never see part of a run being written (nor
/// one a crash left unfinished), as they would not see part of a transaction.
fn finished_records(
    db: &SledDb,
    chain: &str,
    from_seq: u64,
    limit: u32,
) -> StoreResult<Vec<sled::IVec>> {
    let last = head_seq(db, chain.as_bytes())?;
    if from_seq > last {
        return Ok(Vec::new());
    }
    let (lo, hi) = (record_key(chain, from_seq), record_key(chain, last));
    db.audit
        .range(lo..=hi)
        .values()
        .take(limit as usize)
        .map(|v| v.map_err(backend))
        .collect()
}

/// The position of `chain`'s head; 0 for a chain with no records.
fn head_seq(db: &SledDb, chain: &[u8]) -> StoreResult<u64> {
    let head = read_head(db.audit_heads.get(chain).map_err(backend)?)?;
    Ok(head.map_or(0, |h| h.seq))
}

fn decode_here(stored: &[sled::IVec]) -> StoreResult<Vec<ChainedEvent>> {
    stored.iter().map(|v| decode_record(v)).collect()
}

fn decode_record(bytes: &[u8]) -> StoreResult<ChainedEvent> {
    decode_event(bytes)
}

fn read_head(bytes: Option<sled::IVec>) -> StoreResult<Option<ChainHead>> {
    bytes
        .map(|b| decode::<HeadRecord>(&b, "audit head").map(ChainHead::from))
        .transpose()
}

/// A run's stored rows: record key, record, time-index key.
type Rows = [(Vec<u8>, Vec<u8>, Vec<u8>)];

/// Writes a run that extends the head: each record then its time-index entry, the head
/// last, then one flush. Not a sled transaction: sled 0.34 seals and writes its log
/// buffer twice more for every transaction (`pin_log`), each write handed to its I/O
/// pool, which wakes all seven of its threads. Without one the run is still all or
/// nothing: sled recovers a prefix of its log (a later write is never kept without an
/// earlier one), so whatever a crash leaves past the head is an unfinished run, rolled
/// back when the database opens ([`roll_back_unfinished_runs`]); a failed write rolls
/// its run back at once. The head check needs no transaction either: sled locks its
/// directory to one process, and `appending` serializes this process's appends.
fn write_run(
    db: &SledDb,
    first: &ChainedEvent,
    rows: &Rows,
    head_bytes: &[u8],
    new_head: ChainHead,
) -> StoreResult<AppendOutcome> {
    let chain = first.chain.as_str();
    let current = read_head(db.audit_heads.get(chain.as_bytes()).map_err(backend)?)?;
    if !extends(current.as_ref(), first) {
        return Ok(AppendOutcome::HeadMoved { current });
    }
    let written = rows
        .iter()
        .try_for_each(|(key, value, time)| {
            db.audit.insert(key.as_slice(), value.as_slice())?;
            db.audit_by_time.insert(time.as_slice(), key.as_slice())?;
            Ok(())
        })
        .and_then(|()| db.audit_heads.insert(chain.as_bytes(), head_bytes))
        .map_err(backend);
    if let Err(e) = written {
        if let Err(undo) = roll_back_unfinished(db, chain) {
            tracing::error!(chain, error = %undo, "could not roll back a failed audit run");
        }
        return Err(e);
    }
    db.flush()?;
    Ok(AppendOutcome::Appended(new_head))
}

/// Rolls back what a crash left of unfinished runs: the records past each chain's
/// head, and their time-index entries. Run when the database opens.
pub(super) fn roll_back_unfinished_runs(db: &SledDb) -> StoreResult<u64> {
    let mut removed = 0;
    let mut next = db.audit.iter().keys().next();
    while let Some(key) = next {
        let key = key.map_err(backend)?;
        let chain = String::from_utf8_lossy(position_of(&key)?.0).into_owned();
        removed += roll_back_unfinished(db, &chain)?;
        let past_chain = Bound::Excluded(record_key(&chain, u64::MAX));
        next = db.audit.range((past_chain, Bound::Unbounded)).keys().next();
    }
    if removed > 0 {
        db.flush()?;
        tracing::warn!(
            removed,
            "rolled back audit records of runs a crash left unfinished"
        );
    }
    Ok(removed)
}

/// Removes `chain`'s records past its head, each index entry before its record (so a
/// crash part way leaves only records past the head, removed at the next open).
fn roll_back_unfinished(db: &SledDb, chain: &str) -> StoreResult<u64> {
    let past_head = record_key(chain, head_seq(db, chain.as_bytes())?.saturating_add(1));
    let mut removed = 0;
    for kv in db
        .audit
        .range(past_head..=record_key(chain, u64::MAX))
        .values()
    {
        let stored = kv.map_err(backend)?;
        let record = decode_record(&stored)?;
        db.audit_by_time
            .remove(time_key(&record))
            .map_err(backend)?;
        db.audit
            .remove(record_key(chain, record.seq))
            .map_err(backend)?;
        removed += 1;
    }
    Ok(removed)
}

/// A record key's chain and position: `chain 0 seq`, the position 8 bytes.
fn position_of(key: &[u8]) -> StoreResult<(&[u8], u64)> {
    let corrupted = || crate::ports::StoreError::Corrupted {
        backend: "sled",
        message: "audit record key shorter than its position".into(),
    };
    let split = key.len().checked_sub(9).ok_or_else(corrupted)?;
    let seq: [u8; 8] = key[split + 1..].try_into().map_err(|_| corrupted())?;
    Ok((&key[..split], u64::from_be_bytes(seq)))
}

#[async_trait]
impl AuditChainStore for SledAudit {
    async fn head(&self, chain: &str) -> StoreResult<Option<ChainHead>> {
        let chain = chain.to_owned();
        self.db
            .run_here(move |db| read_head(db.audit_heads.get(chain.as_bytes()).map_err(backend)?))
            .await
    }

    async fn append(&self, records: &[ChainedEvent]) -> StoreResult<AppendOutcome> {
        check_run(records)?;
        let rows: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> = records
            .iter()
            .map(|r| Ok((record_key(&r.chain, r.seq), encode_event(r)?, time_key(r))))
            .collect::<StoreResult<_>>()?;
        let (first, new_head) = (records[0].clone(), records[records.len() - 1].head());
        let head_bytes = encode(&HeadRecord::from(&new_head))?;
        let _writer = self.appending.lock().await;
        self.db
            .run(move |db| write_run(db, &first, &rows, &head_bytes, new_head))
            .await
    }

    async fn range(
        &self,
        chain: &str,
        from_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<ChainedEvent>> {
        let chain = chain.to_owned();
        let stored = self
            .db
            .run(move |db| finished_records(db, &chain, from_seq, limit))
            .await?;
        decode_here(&stored)
    }

    async fn hashes(
        &self,
        chain: &str,
        from_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<(u64, String)>> {
        let chain = chain.to_owned();
        self.db
            .run(move |db| {
                finished_records(db, &chain, from_seq, limit)?
                    .iter()
                    .map(|v| decode_position(v))
                    .collect()
            })
            .await
    }

    async fn query(&self, query: &AuditQuery) -> StoreResult<Vec<ChainedEvent>> {
        let query = query.clone();
        let stored = self
            .db
            .run(move |db| {
                let matches = newest_matching(db, &query);
                super::page(matches, query.effective_limit(), query.offset)
            })
            .await?;
        decode_here(&stored)
    }

    async fn count(&self, query: &AuditQuery) -> StoreResult<u64> {
        let query = query.clone();
        self.db
            .run(move |db| newest_matching(db, &query).try_fold(0u64, |n, r| r.map(|_| n + 1)))
            .await
    }

    async fn chains(&self) -> StoreResult<Vec<String>> {
        self.db
            .run(|db| {
                db.audit_heads
                    .iter()
                    .keys()
                    .map(|k| Ok(String::from_utf8_lossy(&k.map_err(backend)?).into_owned()))
                    .collect()
            })
            .await
    }
}

/// Stored records that match, newest first, walking the time index forward within the
/// query's bounds. Filtering decodes each candidate here, on the blocking pool, and drops
/// it here too; the caller decodes the page it keeps on its own thread.
fn newest_matching<'a>(
    db: &'a SledDb,
    query: &'a AuditQuery,
) -> impl Iterator<Item = StoreResult<sled::IVec>> + 'a {
    let mut heads = HashMap::new();
    db.audit_by_time
        .range(index_bounds(query))
        .filter_map(move |kv| {
            let found = kv
                .map_err(backend)
                .and_then(|(_, key)| finished(db, &mut heads, &key));
            let matched = found.and_then(|stored| {
                let Some(bytes) = stored else { return Ok(None) };
                let r = decode_record(&bytes)?;
                Ok((query.matches(&r.event) && query.continues(&r)).then_some(bytes))
            });
            matched.transpose()
        })
}

/// The record a time-index entry points at, unless it lies past its chain's head (a run
/// being written); `heads` remembers each chain's head for the rest of the walk.
fn finished(
    db: &SledDb,
    heads: &mut HashMap<Vec<u8>, u64>,
    key: &[u8],
) -> StoreResult<Option<sled::IVec>> {
    let (chain, seq) = position_of(key)?;
    let last = match heads.get(chain) {
        Some(&last) => last,
        None => *heads.entry(chain.to_vec()).or_insert(head_seq(db, chain)?),
    };
    if seq > last {
        return Ok(None);
    }
    let bytes = db.audit.get(key).map_err(backend)?;
    bytes
        .ok_or_else(|| crate::ports::StoreError::Corrupted {
            backend: "sled",
            message: "time index points at a missing audit record".into(),
        })
        .map(Some)
}

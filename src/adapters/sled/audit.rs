use std::ops::Bound;
use std::sync::Arc;

use async_trait::async_trait;
use sled::Transactional;
use sled::transaction::ConflictableTransactionError;

use super::codec::{
    HeadRecord, decode, decode_event, decode_position, decode_v1_event, encode, encode_event,
};
use super::{Database, SledDb, backend, key2, tx_error};
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
/// only writer): concurrent multi-tree transactions interleaved with flushes stalled
/// sled 0.34 in the conformance suite's 64-writer scenario, and the gateway's audit
/// writer commits one batch at a time anyway.
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
/// The stored bytes of up to `limit` records of `chain` from `from_seq`, ascending.
fn records_from<'a>(
    db: &'a SledDb,
    chain: &str,
    from_seq: u64,
    limit: u32,
) -> impl Iterator<Item = sled::Result<sled::IVec>> + 'a {
    let (lo, hi) = (record_key(chain, from_seq), record_key(chain, u64::MAX));
    db.audit.range(lo..=hi).values().take(limit as usize)
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
        let outcome = self
            .db
            .run(move |db| {
                let trees = (&db.audit, &db.audit_heads, &db.audit_by_time);
                trees
                    .transaction(|(audit, heads, by_time)| {
                        let current = read_head(heads.get(first.chain.as_bytes())?)
                            .map_err(ConflictableTransactionError::Abort)?;
                        if !extends(current.as_ref(), &first) {
                            return Ok(AppendOutcome::HeadMoved { current });
                        }
                        for (key, value, time) in &rows {
                            audit.insert(key.as_slice(), value.as_slice())?;
                            by_time.insert(time.as_slice(), key.as_slice())?;
                        }
                        heads.insert(first.chain.as_bytes(), head_bytes.as_slice())?;
                        Ok(AppendOutcome::Appended(new_head.clone()))
                    })
                    .map_err(tx_error)
            })
            .await?;
        if matches!(outcome, AppendOutcome::Appended(_)) {
            self.db.flush().await?;
        }
        Ok(outcome)
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
            .run(move |db| {
                records_from(db, &chain, from_seq, limit)
                    .map(|v| v.map_err(backend))
                    .collect::<StoreResult<Vec<_>>>()
            })
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
                records_from(db, &chain, from_seq, limit)
                    .map(|v| decode_position(&v.map_err(backend)?))
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
    db.audit_by_time
        .range(index_bounds(query))
        .map(move |kv| {
            let (_, key) = kv.map_err(backend)?;
            let bytes = db.audit.get(&key).map_err(backend)?;
            bytes.ok_or_else(|| crate::ports::StoreError::Corrupted {
                backend: "sled",
                message: "time index points at a missing audit record".into(),
            })
        })
        .filter_map(move |stored| {
            let matched = stored.and_then(|bytes| {
                let r = decode_record(&bytes)?;
                Ok((query.matches(&r.event) && query.continues(&r)).then_some(bytes))
            });
            matched.transpose()
        })
}

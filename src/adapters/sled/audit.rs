use std::collections::HashMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;

use super::audit_layout::{
    complement, decode_record, head_seq, position_of, read_head, record_key, time_bytes, time_key,
    time_order_key,
};
use super::audit_runs::write_run;
use super::codec::{HeadRecord, decode_position, decode_v1_event, encode, encode_event};
use super::{Database, SledDb, backend, is_key_of};
use crate::domain::audit::check_run;
use crate::domain::audit::{AuditQuery, ChainHead, ChainedEvent};
use crate::domain::time::Timestamp;
use crate::ports::{AppendOutcome, AuditChainStore, StoreResult};

/// The audit port on sled; the stored layout is described in [`super::audit_layout`].
///
/// Appends are serialized in-process (sled locks its directory, so this process is the
/// only writer; the gateway's audit writer commits one batch at a time anyway), which
/// is what lets [`write_run`] check the head and write without a transaction. The
/// lock is a plain mutex taken on the thread that writes (the commit round's own, see
/// [`Database::run_here`]).
pub(super) struct SledAudit {
    pub db: Arc<Database>,
    pub appending: Arc<Mutex<()>>,
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
        .filter(|kv| kv.as_ref().map_or(true, |(key, _)| is_key_of(chain, key)))
        .take(limit as usize)
        .map(|kv| kv.map(|(_, value)| value).map_err(backend))
        .collect()
}

fn decode_here(stored: &[sled::IVec]) -> StoreResult<Vec<ChainedEvent>> {
    stored.iter().map(|v| decode_record(v)).collect()
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
        let appending = Arc::clone(&self.appending);
        self.db
            .run_here(move |db| {
                // Taken here, not around the await: a caller that goes away must not
                // free the lock while its run is still being written.
                let _only_writer = appending.lock().unwrap_or_else(PoisonError::into_inner);
                write_run(db, &first, &rows, &head_bytes, new_head)
            })
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

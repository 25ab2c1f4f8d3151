use std::sync::Arc;

use async_trait::async_trait;
use sled::Transactional;
use sled::transaction::ConflictableTransactionError;

use super::codec::{EventRecord, HeadRecord, decode, encode};
use super::{SledDb, backend, blocking, key2, tx_error};
use crate::domain::audit::{AuditQuery, ChainHead, ChainedEvent};
use crate::domain::time::Timestamp;
use crate::ports::{AppendOutcome, AuditChainStore, StoreResult, check_run, extends};

/// Records under `chain 0 seq_be`, heads under `chain`, and a time index
/// `ts_be chain 0 seq_be -> record key` for newest-first queries.
///
/// Appends are serialized in-process (sled locks its directory, so this process is the
/// only writer): concurrent multi-tree transactions interleaved with flushes stalled
/// sled 0.34 in the conformance suite's 64-writer scenario, and the gateway's audit
/// writer commits one batch at a time anyway.
pub(super) struct SledAudit {
    pub db: Arc<SledDb>,
    pub appending: tokio::sync::Mutex<()>,
}

fn record_key(chain: &str, seq: u64) -> Vec<u8> {
    key2(chain, &seq.to_be_bytes())
}

/// Big-endian with the sign bit flipped, so byte order is time order.
fn time_bytes(t: Timestamp) -> [u8; 8] {
    ((t.unix_nanos() as u64) ^ (1 << 63)).to_be_bytes()
}

fn time_key(r: &ChainedEvent) -> Vec<u8> {
    let mut k = time_bytes(r.event.ts).to_vec();
    k.extend_from_slice(&record_key(&r.chain, r.seq));
    k
}

fn read_head(bytes: Option<sled::IVec>) -> StoreResult<Option<ChainHead>> {
    bytes
        .map(|b| decode::<HeadRecord>(&b, "audit head").map(ChainHead::from))
        .transpose()
}

#[async_trait]
impl AuditChainStore for SledAudit {
    async fn head(&self, chain: &str) -> StoreResult<Option<ChainHead>> {
        let (db, chain) = (Arc::clone(&self.db), chain.to_owned());
        blocking(move || read_head(db.audit_heads.get(chain.as_bytes()).map_err(backend)?)).await
    }

    async fn append(&self, records: &[ChainedEvent]) -> StoreResult<AppendOutcome> {
        check_run(records)?;
        let rows: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> = records
            .iter()
            .map(|r| {
                Ok((
                    record_key(&r.chain, r.seq),
                    encode(&EventRecord::from(r))?,
                    time_key(r),
                ))
            })
            .collect::<StoreResult<_>>()?;
        let (first, new_head) = (records[0].clone(), records[records.len() - 1].head());
        let head_bytes = encode(&HeadRecord::from(&new_head))?;
        let db = Arc::clone(&self.db);
        let _writer = self.appending.lock().await;
        let outcome = blocking(move || {
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
            self.db.db.flush_async().await.map_err(backend)?;
        }
        Ok(outcome)
    }

    async fn range(
        &self,
        chain: &str,
        from_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<ChainedEvent>> {
        let (db, chain) = (Arc::clone(&self.db), chain.to_owned());
        blocking(move || {
            let (lo, hi) = (record_key(&chain, from_seq), record_key(&chain, u64::MAX));
            db.audit
                .range(lo..=hi)
                .take(limit as usize)
                .map(|kv| {
                    let (_, v) = kv.map_err(backend)?;
                    decode::<EventRecord>(&v, "audit record").map(ChainedEvent::from)
                })
                .collect()
        })
        .await
    }

    async fn query(&self, query: &AuditQuery) -> StoreResult<Vec<ChainedEvent>> {
        let (db, query) = (Arc::clone(&self.db), query.clone());
        blocking(move || {
            let matches = newest_matching(&db, &query);
            super::page(matches, query.effective_limit(), query.offset)
        })
        .await
    }

    async fn count(&self, query: &AuditQuery) -> StoreResult<u64> {
        let (db, query) = (Arc::clone(&self.db), query.clone());
        blocking(move || newest_matching(&db, &query).try_fold(0u64, |n, r| r.map(|_| n + 1))).await
    }
}

/// Matching records, newest first, walking the time index within the query's bounds.
fn newest_matching<'a>(
    db: &'a SledDb,
    query: &'a AuditQuery,
) -> impl Iterator<Item = StoreResult<ChainedEvent>> + 'a {
    let lo = time_bytes(query.from.unwrap_or(Timestamp::from_unix_nanos(i64::MIN))).to_vec();
    let mut hi = time_bytes(query.to.unwrap_or(Timestamp::from_unix_nanos(i64::MAX))).to_vec();
    hi.push(0xff);
    // The index key orders exactly as (ts, chain, seq): seek to the cursor.
    if let Some(c) = &query.after {
        let mut key = time_bytes(c.ts).to_vec();
        key.extend_from_slice(&record_key(&c.chain, c.seq));
        hi = hi.min(key);
    }
    db.audit_by_time
        .range(lo..hi)
        .rev()
        .map(move |kv| {
            let (_, key) = kv.map_err(backend)?;
            let bytes = db.audit.get(&key).map_err(backend)?;
            let bytes = bytes.ok_or_else(|| crate::ports::StoreError::Corrupted {
                backend: "sled",
                message: "time index points at a missing audit record".into(),
            })?;
            decode::<EventRecord>(&bytes, "audit record").map(ChainedEvent::from)
        })
        .filter(move |r| {
            r.as_ref()
                .map_or(true, |r| query.matches(&r.event) && query.continues(r))
        })
}

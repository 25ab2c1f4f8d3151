//! Writing an audit run without a sled transaction, and rolling back what a crash or a
//! failed write leaves of one.
//!
//! sled 0.34 seals and writes its log buffer twice more for every transaction
//! (`pin_log`), each write handed to its I/O pool, which wakes all seven of its
//! threads. A run is instead written in an order a crash may cut anywhere: a pending
//! mark for the chain, each record then its time-index entry, the chain head, the mark
//! removed; then one flush. sled recovers a prefix of its log (it never keeps a later
//! write without the earlier ones), so after a crash a chain with a pending mark may
//! have records past its head, contiguous from head + 1: an unfinished run. Readers
//! stop at the head; the run is rolled back when the database opens or reopens, and at
//! once when one of its writes fails.

use super::audit_layout::{decode_record, head_seq, read_head, record_key, time_key};
use super::{BACKEND, SledDb, backend, database::describe};
use crate::domain::audit::{ChainHead, ChainedEvent, extends};
use crate::ports::{AppendOutcome, StoreError, StoreResult};

/// A run's stored rows: record key, record, time-index key.
pub(super) type Rows = [(Vec<u8>, Vec<u8>, Vec<u8>)];

/// Writes a run that extends the head, then flushes. The head check needs no
/// transaction: sled locks its directory to one process, and the caller holds the
/// process's append lock.
pub(super) fn write_run(
    db: &SledDb,
    first: &ChainedEvent,
    rows: &Rows,
    head_bytes: &[u8],
    new_head: ChainHead,
) -> StoreResult<AppendOutcome> {
    let chain = first.chain.as_bytes();
    let current = read_head(db.audit_heads.get(chain).map_err(backend)?)?;
    if !extends(current.as_ref(), first) {
        return Ok(AppendOutcome::HeadMoved { current });
    }
    // A panic in sled part way is a failure part way too: not to be retried event by
    // event, and the database closed so that reopening it rolls the run back.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        write_and_flush(db, chain, rows, head_bytes)
    }))
    .unwrap_or_else(|_| Err(part_way("sled panicked while writing an audit run".into())))?;
    Ok(AppendOutcome::Appended(new_head))
}

fn write_and_flush(db: &SledDb, chain: &[u8], rows: &Rows, head_bytes: &[u8]) -> StoreResult<()> {
    if let Err(e) = write_in_order(db, chain, rows, head_bytes) {
        let undo = match roll_back_unfinished(db, chain) {
            Ok(_) => String::new(),
            Err(undo) => format!("; rolling the run back failed too: {undo}"),
        };
        return Err(part_way(format!("{}{undo}", describe(&e))));
    }
    db.flush().map_err(|e| match e {
        StoreError::Backend { source, .. } => part_way(source.to_string()),
        unavailable => unavailable,
    })
}

/// A write or flush that failed part way through a run. Reported as unavailable
/// whatever sled said: part of the run may stand (all of it, once the head is written),
/// so its events must not be appended again one by one, and the database is closed,
/// so that reopening it rolls back whatever a marked run left.
fn part_way(message: String) -> StoreError {
    StoreError::Unavailable {
        backend: BACKEND,
        message,
    }
}

fn write_in_order(db: &SledDb, chain: &[u8], rows: &Rows, head: &[u8]) -> sled::Result<()> {
    db.audit_pending.insert(chain, &[])?;
    for (key, value, time) in rows {
        db.audit.insert(key.as_slice(), value.as_slice())?;
        db.audit_by_time.insert(time.as_slice(), key.as_slice())?;
    }
    db.audit_heads.insert(chain, head)?;
    db.audit_pending.remove(chain)?;
    Ok(())
}

/// Rolls back the runs of every chain left with a pending mark. Run when the database
/// opens or reopens; returns how many records were removed.
pub(super) fn roll_back_unfinished_runs(db: &SledDb) -> StoreResult<u64> {
    let pending: Vec<sled::IVec> = db
        .audit_pending
        .iter()
        .keys()
        .collect::<sled::Result<_>>()
        .map_err(backend)?;
    let mut removed = 0;
    for chain in &pending {
        removed += roll_back_unfinished(db, chain)?;
    }
    if !pending.is_empty() {
        db.flush()?;
    }
    if removed > 0 {
        tracing::warn!(
            removed,
            "rolled back audit records of runs a crash or a failed write left unfinished"
        );
    }
    Ok(removed)
}

/// Removes `chain`'s records past its head, newest first and each index entry before
/// its record, so that a crash part way leaves a shorter unfinished run (still
/// contiguous from head + 1, still marked) for the next open; then the mark.
fn roll_back_unfinished(db: &SledDb, chain: &[u8]) -> StoreResult<u64> {
    let past_head = unfinished_run(db, chain)?;
    for (key, stored) in past_head.iter().rev() {
        let record = decode_record(stored)?;
        db.audit_by_time
            .remove(time_key(&record))
            .map_err(backend)?;
        db.audit.remove(key).map_err(backend)?;
    }
    db.audit_pending.remove(chain).map_err(backend)?;
    Ok(past_head.len() as u64)
}

/// The records from head + 1 on, up to the first missing position, by exact key (so
/// no other chain's records are ever touched).
fn unfinished_run(db: &SledDb, chain: &[u8]) -> StoreResult<Vec<(Vec<u8>, sled::IVec)>> {
    let mut run = Vec::new();
    let mut seq = head_seq(db, chain)?;
    while let Some(next) = seq.checked_add(1) {
        let key = record_key(chain, next);
        let Some(stored) = db.audit.get(&key).map_err(backend)? else {
            break;
        };
        run.push((key, stored));
        seq = next;
    }
    Ok(run)
}

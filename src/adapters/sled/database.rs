//! The open sled database behind every sled port, closed and opened again after an I/O
//! failure.
//!
//! Once one of its writes fails (a full disk, say), sled 0.34 refuses every later
//! operation with that error until the database is opened again. Left alone, one full
//! disk would stop the gateway until someone restarted it. So an I/O error closes the
//! database here; the next operation opens it again (at most once per
//! [`REOPEN_EVERY`]) and proves it can write before it is used. Until then every
//! operation fails at once with [`StoreError::Unavailable`], which the gateway turns
//! into refused calls and a 503 readiness. A write or flush that fails part way
//! through an audit run closes it too, whatever the error (`audit_runs`): reopening
//! rolls the run back. Reopening recovers what sled had flushed,
//! as a restart after a crash would; audit appends are flushed before they are
//! acknowledged, so no acknowledged call loses its record.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use super::{BACKEND, SledDb, blocking};
use crate::ports::{StoreError, StoreResult};

/// How often a closed database is tried again.
pub(super) const REOPEN_EVERY: Duration = Duration::from_secs(1);

/// The key the reopen probe writes (in sled's default tree, beside `schema_version`).
const WRITE_PROBE: &str = "write_probe";

pub(crate) struct Database {
    dir: PathBuf,
    /// The page cache's cap, for reopening.
    cache_bytes: u64,
    open: RwLock<Option<Arc<SledDb>>>,
    /// When the last reopen was tried; held while one is under way.
    reopening: Mutex<Option<Instant>>,
    /// Why the database was closed, for the errors given while it is.
    closed_because: Mutex<String>,
}

impl Database {
    pub(super) fn new(dir: PathBuf, cache_bytes: u64, db: SledDb) -> Arc<Self> {
        Arc::new(Self {
            dir,
            cache_bytes,
            open: RwLock::new(Some(Arc::new(db))),
            reopening: Mutex::new(None),
            closed_because: Mutex::new(String::new()),
        })
    }

    /// Runs `work` on the blocking pool against the open database. An I/O error closes
    /// the database (see the module documentation).
    pub(super) async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&SledDb) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let this = Arc::clone(self);
        blocking(move || {
            let db = this.current()?;
            let outcome = work(&db);
            if let Err(StoreError::Unavailable { message, .. }) = &outcome {
                this.close(&db, message);
            }
            outcome
        })
        .await
    }

    /// Runs `work` right here on the caller's thread: for the call path's reads and
    /// writes of a few hot keys (budget counters, chain heads), which sled serves from
    /// its page cache in microseconds, and for the audit writer's round, whose flush
    /// blocks this worker while it (usually) writes sled's log (a fraction of a
    /// millisecond on a local disk, longer under writeback pressure; the round's
    /// callers wait for it either way, and the other workers go on with the rest).
    /// The hand-off to the blocking pool and back cost more than the work: the budget
    /// stage took 0.85 ms under load, now 0.2; with audit rounds on the pool a call
    /// cost about a tenth more CPU and sled's throughput was nearly a fifth lower
    /// (BENCHMARKS.md). A closed database goes through [`Database::run`], since
    /// reopening it is blocking I/O.
    pub(super) async fn run_here<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&SledDb) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let open = self
            .open
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let Some(db) = open else {
            return self.run(work).await;
        };
        let outcome = work(&db);
        if let Err(StoreError::Unavailable { message, .. }) = &outcome {
            self.close(&db, message);
        }
        outcome
    }

    /// The open database, or an attempt to open it again.
    fn current(&self) -> StoreResult<Arc<SledDb>> {
        let open = self.open.read().unwrap_or_else(PoisonError::into_inner);
        match open.as_ref() {
            Some(db) => Ok(Arc::clone(db)),
            None => {
                drop(open);
                self.reopen()
            }
        }
    }

    fn close(&self, failed: &Arc<SledDb>, why: &str) {
        let mut open = self.open.write().unwrap_or_else(PoisonError::into_inner);
        if open.as_ref().is_some_and(|db| Arc::ptr_eq(db, failed)) {
            *open = None;
            *self
                .closed_because
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = why.into();
            tracing::error!(
                error = why,
                "sled database closed after an I/O error; every call is refused until it can \
                 be written again (tried every {} s)",
                REOPEN_EVERY.as_secs()
            );
        }
    }

    fn reopen(&self) -> StoreResult<Arc<SledDb>> {
        // One attempt at a time; the others fail at once rather than queue behind it.
        let Ok(mut last) = self.reopening.try_lock() else {
            return Err(self.closed(None));
        };
        if let Some(db) = self
            .open
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            return Ok(Arc::clone(db));
        }
        if last.is_some_and(|at| at.elapsed() < REOPEN_EVERY) {
            return Err(self.closed(None));
        }
        *last = Some(Instant::now());
        let db = super::open_trees(&self.dir, self.cache_bytes)
            .and_then(|db| {
                db.db.insert(WRITE_PROBE, &[])?;
                db.db.flush()?;
                Ok(db)
            })
            .map_err(|e| self.closed(Some(describe(&e))))?;
        super::audit_runs::roll_back_unfinished_runs(&db)
            .map_err(|e| self.closed(Some(e.to_string())))?;
        let db = Arc::new(db);
        *self.open.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&db));
        tracing::info!("sled database reopened: it can be written again");
        Ok(db)
    }

    fn closed(&self, reopen_failed: Option<String>) -> StoreError {
        let why = self
            .closed_because
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut message = format!("closed after an I/O error ({why})");
        if let Some(e) = reopen_failed {
            message.push_str(&format!("; reopening failed: {e}"));
        }
        StoreError::Unavailable {
            backend: BACKEND,
            message,
        }
    }
}

/// sled's error in plain words. sled passes on some I/O errors as a debug dump of the
/// original (`Os { code: 28, kind: StorageFull, … }`); those are named by their kind.
pub(super) fn describe(e: &sled::Error) -> String {
    match e {
        sled::Error::Io(io) if io.raw_os_error().is_some() => format!("I/O error: {io}"),
        sled::Error::Io(io) => format!("I/O error: {}", io.kind()),
        other => other.to_string(),
    }
}

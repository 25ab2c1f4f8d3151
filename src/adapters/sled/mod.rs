//! Embedded storage on sled: every port in one database directory, the default backend.
//!
//! Scans and other long sled calls run on tokio's blocking pool; the call path's
//! short ones (budget counters, chain heads, the audit writer's round) on the caller's
//! thread ([`database::Database::run_here`]). Invariants that span keys (approval
//! state, policy pointer + draft) are kept in sled transactions; audit runs are written
//! in a crash-safe order instead (`audit_runs`); counters use `update_and_fetch`. Audit
//! appends are flushed before they are acknowledged. A `schema_version` key is checked
//! at open.
//!
//! What sled's flush does and does not guarantee is documented in the README: it writes
//! with `sync_file_range`, which survives a process crash but not necessarily a power
//! loss.

mod approval;
mod audit;
mod audit_layout;
mod audit_runs;
mod budget;
mod codec;
mod database;
mod policy;
mod revocation;
mod session;
mod transparency;

use std::path::Path;
use std::sync::Arc;

use database::Database;

use sled::transaction::TransactionError;

use crate::ports::{StoreError, StoreResult, Stores};

/// The on-disk layout this build reads and writes. 2: audit records in postcard; 3: an
/// OAuth caller's record may end with its issuer and client.
const SCHEMA_VERSION: &[u8] = b"3";
/// Version 2 records are version 3 records without the optional OAuth tail: the
/// directory is only re-marked, so a build that would drop the tail (and see the
/// chain as tampered) refuses it instead.
const SCHEMA_V2: &[u8] = b"2";
const BACKEND: &str = "sled";

/// The database and its trees, shared by the port implementations.
pub(crate) struct SledDb {
    db: sled::Db,
    audit: sled::Tree,
    audit_heads: sled::Tree,
    audit_by_time: sled::Tree,
    /// Chains whose run is being written ([`audit_runs`]).
    audit_pending: sled::Tree,
    revocations: sled::Tree,
    budgets: sled::Tree,
    approvals: sled::Tree,
    drafts: sled::Tree,
    active: sled::Tree,
    sessions: sled::Tree,
    tree_sizes: sled::Tree,
    tree_tiles: sled::Tree,
    checkpoints: sled::Tree,
}

impl SledDb {
    /// Waits until everything written so far is on disk. Called right after the write
    /// it makes durable, on the same thread, which (with the patched sled in
    /// `vendor/sled`) writes the log itself. Not sled's `flush_async`: it runs the flush
    /// as a task on sled's thread pool, a hand-off that wakes all seven of the pool's
    /// idle threads (a condvar `notify_all`).
    fn flush(&self) -> StoreResult<()> {
        self.db.flush().map(drop).map_err(backend)
    }
}

/// Why the sled store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SledOpenError {
    #[error("open sled database in {path}: {source}")]
    Open { path: String, source: sled::Error },
    #[error("sled database in {path} has schema version {found:?}; this build reads version 3")]
    Schema { path: String, found: String },
    #[error("roll back unfinished audit runs in sled database in {path}: {source}")]
    RollBack { path: String, source: StoreError },
    #[error("load revocations from sled database in {path}: {source}")]
    Load { path: String, source: StoreError },
    #[error("upgrade sled database in {path} from schema version 1: {source}")]
    Upgrade { path: String, source: StoreError },
}

/// Opens (or creates) the database in `dir` with the default page cache
/// ([`crate::config::DEFAULT_SLED_CACHE_MIB`]).
pub fn open(dir: &Path) -> Result<Stores, SledOpenError> {
    open_with_cache(dir, crate::config::DEFAULT_SLED_CACHE_MIB)
}

/// Opens (or creates) the database in `dir`, its page cache capped at `cache_mib` MiB.
/// sled's own default (1 GiB) lets one full export or verify of a large chain grow the
/// process by hundreds of MiB; and the cache takes more memory than it counts.
pub fn open_with_cache(dir: &Path, cache_mib: u64) -> Result<Stores, SledOpenError> {
    let cache_bytes = cache_mib.saturating_mul(1 << 20);
    let path = dir.display().to_string();
    let fail = |source| SledOpenError::Open {
        path: path.clone(),
        source,
    };
    let db = open_trees(dir, cache_bytes).map_err(fail)?;
    let from_v1 = match db.db.get("schema_version").map_err(fail)? {
        None => {
            db.db
                .insert("schema_version", SCHEMA_VERSION)
                .map_err(fail)?;
            false
        }
        Some(v) if v.as_ref() == SCHEMA_VERSION => false,
        Some(v) if v.as_ref() == SCHEMA_V2 => {
            db.db
                .insert("schema_version", SCHEMA_VERSION)
                .map_err(fail)?;
            db.db.flush().map_err(fail)?;
            false
        }
        Some(v) if [&b"1"[..], UPGRADING_FROM_V1].contains(&v.as_ref()) => true,
        Some(v) => {
            let found = String::from_utf8_lossy(&v).into_owned();
            return Err(SledOpenError::Schema { path, found });
        }
    };
    if from_v1 {
        upgrade_from_v1(&db).map_err(|source| SledOpenError::Upgrade {
            path: path.clone(),
            source,
        })?;
    }
    audit_runs::roll_back_unfinished_runs(&db).map_err(|source| SledOpenError::RollBack {
        path: path.clone(),
        source,
    })?;
    let revoked = revocation::load(&db).map_err(|source| SledOpenError::Load {
        path: path.clone(),
        source,
    })?;
    let db = Database::new(dir.to_path_buf(), cache_bytes, db);
    Ok(Stores {
        backend: BACKEND,
        audit: Arc::new(audit::SledAudit {
            db: Arc::clone(&db),
            appending: Arc::new(std::sync::Mutex::new(())),
        }),
        revocations: Arc::new(revocation::SledRevocations::new(Arc::clone(&db), revoked)),
        budgets: Arc::new(budget::SledBudgets(Arc::clone(&db))),
        approvals: Arc::new(approval::SledApprovals(Arc::clone(&db))),
        policies: Arc::new(policy::SledPolicies(Arc::clone(&db))),
        sessions: Arc::new(session::SledSessions(Arc::clone(&db))),
        transparency: Arc::new(transparency::SledTransparency {
            db,
            growing: tokio::sync::Mutex::new(()),
        }),
        changes: None,
    })
}

/// The database and its trees as they are on disk.
fn open_trees(dir: &Path, cache_bytes: u64) -> Result<SledDb, sled::Error> {
    let db = sled::Config::new()
        .path(dir)
        .cache_capacity(cache_bytes)
        .open()?;
    Ok(SledDb {
        audit: db.open_tree("audit")?,
        audit_heads: db.open_tree("audit_heads")?,
        audit_by_time: db.open_tree("audit_by_time")?,
        audit_pending: db.open_tree("audit_pending")?,
        revocations: db.open_tree("revocations")?,
        budgets: db.open_tree("budgets")?,
        approvals: db.open_tree("approvals")?,
        drafts: db.open_tree("policy_drafts")?,
        active: db.open_tree("policy_active")?,
        sessions: db.open_tree("mcp_sessions")?,
        // Trees of 0.1's first layout (one key per hash) are left alone: these regrow
        // from the records, to the same roots.
        tree_sizes: db.open_tree("audit_merkle_sizes")?,
        tree_tiles: db.open_tree("audit_merkle_tiles")?,
        checkpoints: db.open_tree("audit_checkpoints")?,
        db,
    })
}

/// The mark of an upgrade under way: no build reads it as a finished layout, so an
/// older binary started on a half-upgraded directory refuses it instead of reading it.
const UPGRADING_FROM_V1: &[u8] = b"1-upgrading-to-2";

/// Rewrites a version 1 directory in the version 2 layout (which version 3 reads as
/// is). The directory is marked as being upgraded first and as the current version
/// last, each mark flushed, so an interrupted upgrade
/// runs again at the next start of this build.
fn upgrade_from_v1(db: &SledDb) -> StoreResult<()> {
    db.db
        .insert("schema_version", UPGRADING_FROM_V1)
        .map_err(backend)?;
    db.db.flush().map_err(backend)?;
    let rewritten = audit::upgrade_from_v1(db)?;
    db.db
        .insert("schema_version", SCHEMA_VERSION)
        .map_err(backend)?;
    db.db.flush().map_err(backend)?;
    tracing::info!(
        rewritten,
        "upgraded sled audit records from schema version 1"
    );
    Ok(())
}

/// Runs sled work on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Backend {
            backend: BACKEND,
            source: Box::new(e),
        })?
}

/// An I/O error is "unavailable": sled can do nothing more until the database is
/// opened again ([`Database`]), and a retry of the same write would fail the same way.
fn backend(e: sled::Error) -> StoreError {
    match e {
        sled::Error::Io(_) => StoreError::Unavailable {
            backend: BACKEND,
            message: database::describe(&e),
        },
        other => StoreError::Backend {
            backend: BACKEND,
            source: Box::new(other),
        },
    }
}

fn tx_error(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => backend(e),
    }
}

/// `a 0x00 b`: composite keys whose first part sorts and prefixes cleanly.
fn key2(a: impl AsRef<[u8]>, b: &[u8]) -> Vec<u8> {
    let a = a.as_ref();
    let mut k = Vec::with_capacity(a.len() + 1 + b.len());
    k.extend_from_slice(a);
    k.push(0);
    k.extend_from_slice(b);
    k
}

/// Whether `key`, found in a range of `key2(chain, 8 bytes)` keys, is one of `chain`'s:
/// names may hold a 0 byte, so a chain named as this one plus `0 …` has keys that sort
/// among this chain's, and only their length tells them apart.
fn is_key_of(chain: &str, key: &[u8]) -> bool {
    key.len() == chain.len() + 1 + 8
}

/// One page of an already ordered iterator of results.
fn page<T>(
    items: impl Iterator<Item = StoreResult<T>>,
    limit: u32,
    offset: u64,
) -> StoreResult<Vec<T>> {
    let skip = usize::try_from(offset).unwrap_or(usize::MAX);
    items.skip(skip).take(limit as usize).collect()
}

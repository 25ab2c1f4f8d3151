//! In-process storage: every port on plain maps behind a mutex. A real backend (it
//! passes the whole conformance suite), for tests, demos and single-node setups that
//! accept losing state on restart. No lock is held across an `.await`.

mod approval;
mod audit;
mod blocks;
mod budget;
mod policy;
mod revocation;
mod session;
mod transparency;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

pub use approval::MemoryApprovals;
pub use audit::MemoryAudit;
pub use budget::MemoryBudgets;
pub use policy::MemoryPolicies;
pub use revocation::MemoryRevocations;
pub use session::MemorySessions;
pub use transparency::MemoryTransparency;

use crate::ports::Stores;

/// A fresh, empty set of memory stores.
pub fn open() -> Stores {
    open_retaining(crate::config::DEFAULT_MEMORY_AUDIT_RETAIN)
}

/// Memory stores whose audit log keeps about `retain_events` records.
pub fn open_retaining(retain_events: usize) -> Stores {
    Stores {
        backend: "memory",
        audit: Arc::new(MemoryAudit::retaining(retain_events)),
        revocations: Arc::new(MemoryRevocations::default()),
        budgets: Arc::new(MemoryBudgets::default()),
        approvals: Arc::new(MemoryApprovals::default()),
        policies: Arc::new(MemoryPolicies::default()),
        sessions: Arc::new(MemorySessions::default()),
        transparency: Arc::new(MemoryTransparency::default()),
        changes: None,
    }
}

/// Locks, ignoring poisoning: every critical section leaves the maps consistent
/// before anything that could panic, so a poisoned guard still holds valid data.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One page of an already ordered iterator.
fn page<T>(items: impl Iterator<Item = T>, limit: u32, offset: u64) -> Vec<T> {
    let skip = usize::try_from(offset).unwrap_or(usize::MAX);
    items.skip(skip).take(limit as usize).collect()
}

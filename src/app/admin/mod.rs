//! Admin use-cases that are more than one port call: policies, tokens, approval
//! decisions, chain verification, export paging, agent discovery, policy dry-runs, and
//! the audit events admin actions emit. Each use-case returns its own error type; the
//! HTTP layer maps every one of them to its statuses in one table.

mod access;
pub mod approvals;
mod discovery;
mod dry_run;
mod events;
pub mod policies;
pub mod tokens;
mod verify;

pub use access::{AdminAccess, Caller, TenantMismatch};
pub use discovery::{DISCOVERY_SCAN_CAP, Discovery, discover_agents};
pub use dry_run::{DryRun, DryRunError, DryRunReport, DryRunSample, DryRunSummary};
pub use events::{AdminContext, admin_event, admin_now, record_or_log};
pub use verify::{verify_against, verify_chain};

use crate::domain::audit::{AuditQuery, ChainedEvent, QueryCursor};
use crate::ports::{AuditChainStore, StoreResult};

/// Rows per store page when exporting or replaying.
pub const PAGE: u32 = 1000;

/// Reads matching events page by page (newest first, each page continuing after the
/// last record of the one before), for exports that must not hold everything in
/// memory. `cap` bounds the total.
pub struct AuditPages {
    query: AuditQuery,
    remaining: u64,
    done: bool,
}

impl AuditPages {
    pub fn new(mut query: AuditQuery, cap: u64) -> Self {
        query.offset = 0;
        query.limit = PAGE;
        Self {
            query,
            remaining: cap,
            done: cap == 0,
        }
    }

    /// The next page; empty when finished.
    pub async fn next(&mut self, store: &dyn AuditChainStore) -> StoreResult<Vec<ChainedEvent>> {
        if self.done {
            return Ok(Vec::new());
        }
        self.query.limit = u32::try_from(self.remaining.min(u64::from(PAGE))).unwrap_or(PAGE);
        let mut page = store.query(&self.query).await?;
        page.truncate(self.query.limit as usize);
        let n = page.len() as u64;
        self.query.after = page.last().map(QueryCursor::of).or(self.query.after.take());
        self.remaining -= n;
        self.done = n < u64::from(self.query.limit) || self.remaining == 0;
        Ok(page)
    }

    /// True once the cap, not the data, ended the walk.
    pub fn hit_cap(&self) -> bool {
        self.remaining == 0
    }
}

//! Audit query filters, shared by every backend so they all answer alike.

use super::{AuditEvent, ChainedEvent};
use crate::domain::tenant::TenantScope;
use crate::domain::time::Timestamp;

/// Page size when none (or a non-positive one) is asked for.
pub const DEFAULT_LIMIT: u32 = 100;
/// Largest page a query returns.
pub const MAX_LIMIT: u32 = 1000;

/// The reference's audit filters: every non-empty field must match exactly; the
/// time bounds are inclusive. Results are newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub tenant: TenantScope,
    pub agent_id: String,
    pub tool: String,
    pub decision: String,
    pub check: String,
    /// Matches `capability_token_id`.
    pub jti: String,
    pub elevation_id: String,
    /// Keyset paging: only records after this one in newest-first order. Unlike an
    /// offset, a cursor neither skips nor repeats rows when new ones arrive, and a
    /// store can seek to it instead of walking past every earlier row.
    pub after: Option<QueryCursor>,
    pub limit: u32,
    pub offset: u64,
}

/// A record's position in newest-first order: (time, chain, seq), descending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryCursor {
    pub ts: Timestamp,
    pub chain: String,
    pub seq: u64,
}

impl QueryCursor {
    pub fn of(rec: &ChainedEvent) -> Self {
        Self {
            ts: rec.event.ts,
            chain: rec.chain.clone(),
            seq: rec.seq,
        }
    }
}

impl AuditQuery {
    /// The page size actually served: 0 means the default, larger than the maximum
    /// is clamped.
    pub fn effective_limit(&self) -> u32 {
        match self.limit {
            0 => DEFAULT_LIMIT,
            n => n.min(MAX_LIMIT),
        }
    }

    /// Whether `rec` lies after the cursor (every record does without one).
    pub fn continues(&self, rec: &ChainedEvent) -> bool {
        self.after.as_ref().is_none_or(|c| {
            (rec.event.ts, rec.chain.as_str(), rec.seq) < (c.ts, c.chain.as_str(), c.seq)
        })
    }

    pub fn matches(&self, e: &AuditEvent) -> bool {
        let eq = |want: &str, have: &str| want.is_empty() || want == have;
        self.from.is_none_or(|f| e.ts >= f)
            && self.to.is_none_or(|t| e.ts <= t)
            && self.tenant.admits(&e.tenant)
            && eq(&self.agent_id, &e.agent_id)
            && eq(&self.tool, &e.tool)
            && eq(&self.decision, &e.decision)
            && eq(&self.check, &e.check)
            && eq(&self.jti, &e.capability_token_id)
            && eq(&self.elevation_id, &e.elevation_id)
    }
}

/// Result order for queries: newest first, ties broken by chain and position so that
/// paging is stable.
pub fn newest_first(a: &ChainedEvent, b: &ChainedEvent) -> std::cmp::Ordering {
    b.event
        .ts
        .cmp(&a.event.ts)
        .then_with(|| b.chain.cmp(&a.chain))
        .then(b.seq.cmp(&a.seq))
}

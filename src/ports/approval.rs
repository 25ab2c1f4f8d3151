//! Pending approvals of escalated calls.

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::approval::{Approval, ApprovalDecision, ApprovalStatus};
use crate::domain::tenant::TenantScope;

#[derive(Clone, Debug, PartialEq)]
pub enum CreateOutcome {
    Created,
    /// A row with this `pending_id` exists; nothing was written.
    AlreadyExists,
}

#[derive(Clone, Debug, PartialEq)]
pub enum DecideOutcome {
    /// This call moved the row out of `pending`; carries the updated row.
    Decided(Approval),
    /// The row had already left `pending`; carries it unchanged.
    AlreadyDecided(Approval),
    NotFound,
}

/// Which rows a listing returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApprovalFilter {
    pub tenant: TenantScope,
    pub status: Option<ApprovalStatus>,
}

#[async_trait]
pub trait ApprovalStore: Send + Sync {
    /// Stores a new row (normally `pending`).
    async fn create(&self, approval: &Approval) -> StoreResult<CreateOutcome>;

    /// The row, `Ok(None)` when unknown. Not tenant-scoped: callers check the tenant.
    async fn get(&self, pending_id: &str) -> StoreResult<Option<Approval>>;

    /// Compare-and-set from `pending` (see [`Approval::decide`]): of any number of
    /// concurrent decisions on one row, exactly one gets `Decided`; the others get
    /// `AlreadyDecided` with the winner's row.
    async fn decide(
        &self,
        pending_id: &str,
        decision: &ApprovalDecision,
    ) -> StoreResult<DecideOutcome>;

    /// Rows matching `filter`, newest `created_at` first.
    async fn list(
        &self,
        filter: &ApprovalFilter,
        limit: u32,
        offset: u64,
    ) -> StoreResult<Vec<Approval>>;
}

//! Policy drafts and per-tenant active pointers.

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::policy::{ActivePolicy, DraftUpdate, PolicyDraft};
use crate::domain::tenant::TenantScope;
use crate::domain::time::Timestamp;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeleteDraftOutcome {
    Deleted,
    NotFound,
    /// Some tenant's active pointer names the draft as current or previous.
    InUse,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromoteOutcome {
    /// The slot now points at the draft; carries the new pointer.
    Promoted(ActivePolicy),
    /// The draft was already current; nothing changed.
    Unchanged(ActivePolicy),
    DraftNotFound,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RollbackOutcome {
    RolledBack(ActivePolicy),
    /// The slot has no previous draft.
    NothingToRollBack,
}

#[async_trait]
pub trait PolicyStore: Send + Sync {
    /// Stores a new draft; its `id` must be unused (`Err(InvalidRequest)` otherwise).
    async fn create_draft(&self, draft: &PolicyDraft) -> StoreResult<()>;

    /// Replaces name, description and source; `Ok(None)` when the draft is unknown.
    async fn update_draft(
        &self,
        id: &str,
        update: &DraftUpdate,
    ) -> StoreResult<Option<PolicyDraft>>;

    /// `Ok(None)` when unknown. Not tenant-scoped: callers check the owner.
    async fn get_draft(&self, id: &str) -> StoreResult<Option<PolicyDraft>>;

    /// Drafts owned by tenants in `scope`, newest `updated_at` first.
    async fn list_drafts(
        &self,
        scope: &TenantScope,
        limit: u32,
        offset: u64,
    ) -> StoreResult<Vec<PolicyDraft>>;

    /// Deletes a draft unless an active pointer of any tenant references it.
    async fn delete_draft(&self, id: &str) -> StoreResult<DeleteDraftOutcome>;

    /// The tenant's slot; [`ActivePolicy::empty`] when it never promoted anything.
    async fn active(&self, tenant: &str) -> StoreResult<ActivePolicy>;

    /// Every slot with a pointer: the default slot (`""`) first, then tenants ascending.
    async fn list_active(&self) -> StoreResult<Vec<ActivePolicy>>;

    /// Atomically checks that the draft exists and moves the tenant's pointer to it
    /// ([`ActivePolicy::promote`]).
    async fn promote(
        &self,
        tenant: &str,
        draft_id: &str,
        by: &str,
        at: Timestamp,
    ) -> StoreResult<PromoteOutcome>;

    /// One step back ([`ActivePolicy::rollback`]), atomically.
    async fn rollback(&self, tenant: &str, by: &str, at: Timestamp)
    -> StoreResult<RollbackOutcome>;

    /// Removes a tenant's pointer so it falls back to the default slot (idempotent).
    /// The default slot itself (`""`) is never removed. Returns the slot as it now is.
    async fn clear_active(&self, tenant: &str) -> StoreResult<ActivePolicy>;
}

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{lock, page};
use crate::domain::policy::{ActivePolicy, DraftUpdate, PolicyDraft};
use crate::domain::tenant::TenantScope;
use crate::domain::time::Timestamp;
use crate::ports::{
    DeleteDraftOutcome, PolicyStore, PromoteOutcome, RollbackOutcome, StoreError, StoreResult,
};

/// Drafts and pointers under one lock, so promote checks the draft and moves the
/// pointer atomically.
#[derive(Default)]
struct State {
    drafts: HashMap<String, PolicyDraft>,
    /// Ordered by tenant, so the default slot `""` comes first.
    active: BTreeMap<String, ActivePolicy>,
}

#[derive(Default)]
pub struct MemoryPolicies {
    state: Mutex<State>,
}

#[async_trait]
impl PolicyStore for MemoryPolicies {
    async fn create_draft(&self, draft: &PolicyDraft) -> StoreResult<()> {
        let mut state = lock(&self.state);
        if state.drafts.contains_key(&draft.id) {
            return Err(StoreError::InvalidRequest(format!(
                "draft id {} exists",
                draft.id
            )));
        }
        state.drafts.insert(draft.id.clone(), draft.clone());
        Ok(())
    }

    async fn update_draft(
        &self,
        id: &str,
        update: &DraftUpdate,
    ) -> StoreResult<Option<PolicyDraft>> {
        let mut state = lock(&self.state);
        Ok(state.drafts.get_mut(id).map(|d| {
            *d = d.apply(update);
            d.clone()
        }))
    }

    async fn get_draft(&self, id: &str) -> StoreResult<Option<PolicyDraft>> {
        Ok(lock(&self.state).drafts.get(id).cloned())
    }

    async fn list_drafts(
        &self,
        scope: &TenantScope,
        limit: u32,
        offset: u64,
    ) -> StoreResult<Vec<PolicyDraft>> {
        let state = lock(&self.state);
        let mut hits: Vec<PolicyDraft> = state
            .drafts
            .values()
            .filter(|d| scope.admits(&d.tenant))
            .cloned()
            .collect();
        hits.sort_by(|a, b| {
            b.updated_at
                .cmp(&a.updated_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(page(hits.into_iter(), limit, offset))
    }

    async fn delete_draft(&self, id: &str) -> StoreResult<DeleteDraftOutcome> {
        let mut state = lock(&self.state);
        if !state.drafts.contains_key(id) {
            return Ok(DeleteDraftOutcome::NotFound);
        }
        if state.active.values().any(|a| a.references(id)) {
            return Ok(DeleteDraftOutcome::InUse);
        }
        state.drafts.remove(id);
        Ok(DeleteDraftOutcome::Deleted)
    }

    async fn active(&self, tenant: &str) -> StoreResult<ActivePolicy> {
        let state = lock(&self.state);
        Ok(state
            .active
            .get(tenant)
            .cloned()
            .unwrap_or_else(|| ActivePolicy::empty(tenant)))
    }

    async fn list_active(&self) -> StoreResult<Vec<ActivePolicy>> {
        Ok(lock(&self.state).active.values().cloned().collect())
    }

    async fn promote(
        &self,
        tenant: &str,
        draft_id: &str,
        by: &str,
        at: Timestamp,
    ) -> StoreResult<PromoteOutcome> {
        let mut state = lock(&self.state);
        if !state.drafts.contains_key(draft_id) {
            return Ok(PromoteOutcome::DraftNotFound);
        }
        let slot = state
            .active
            .entry(tenant.to_owned())
            .or_insert_with(|| ActivePolicy::empty(tenant));
        Ok(match slot.promote(draft_id, by, at) {
            Some(next) => {
                *slot = next.clone();
                PromoteOutcome::Promoted(next)
            }
            None => PromoteOutcome::Unchanged(slot.clone()),
        })
    }

    async fn rollback(
        &self,
        tenant: &str,
        by: &str,
        at: Timestamp,
    ) -> StoreResult<RollbackOutcome> {
        let mut state = lock(&self.state);
        let Some(slot) = state.active.get_mut(tenant) else {
            return Ok(RollbackOutcome::NothingToRollBack);
        };
        Ok(match slot.rollback(by, at) {
            Some(next) => {
                *slot = next.clone();
                RollbackOutcome::RolledBack(next)
            }
            None => RollbackOutcome::NothingToRollBack,
        })
    }

    async fn clear_active(&self, tenant: &str) -> StoreResult<ActivePolicy> {
        let mut state = lock(&self.state);
        if tenant.is_empty() {
            return Ok(state.active.get("").cloned().unwrap_or_default());
        }
        state.active.remove(tenant);
        Ok(ActivePolicy::empty(tenant))
    }
}

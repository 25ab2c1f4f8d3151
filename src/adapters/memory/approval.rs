use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{lock, page};
use crate::domain::approval::{Approval, ApprovalDecision};
use crate::ports::{ApprovalFilter, ApprovalStore, CreateOutcome, DecideOutcome, StoreResult};

#[derive(Default)]
pub struct MemoryApprovals {
    rows: Mutex<HashMap<String, Approval>>,
}

#[async_trait]
impl ApprovalStore for MemoryApprovals {
    async fn create(&self, approval: &Approval) -> StoreResult<CreateOutcome> {
        let mut rows = lock(&self.rows);
        if rows.contains_key(&approval.pending_id) {
            return Ok(CreateOutcome::AlreadyExists);
        }
        rows.insert(approval.pending_id.clone(), approval.clone());
        Ok(CreateOutcome::Created)
    }

    async fn get(&self, pending_id: &str) -> StoreResult<Option<Approval>> {
        Ok(lock(&self.rows).get(pending_id).cloned())
    }

    async fn decide(
        &self,
        pending_id: &str,
        decision: &ApprovalDecision,
    ) -> StoreResult<DecideOutcome> {
        let mut rows = lock(&self.rows);
        let Some(row) = rows.get_mut(pending_id) else {
            return Ok(DecideOutcome::NotFound);
        };
        Ok(match row.decide(decision) {
            Some(next) => {
                *row = next.clone();
                DecideOutcome::Decided(next)
            }
            None => DecideOutcome::AlreadyDecided(row.clone()),
        })
    }

    async fn list(
        &self,
        filter: &ApprovalFilter,
        limit: u32,
        offset: u64,
    ) -> StoreResult<Vec<Approval>> {
        let mut hits: Vec<Approval> = lock(&self.rows)
            .values()
            .filter(|a| filter.tenant.admits(&a.tenant))
            .filter(|a| filter.status.is_none_or(|s| s == a.status))
            .cloned()
            .collect();
        hits.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| a.pending_id.cmp(&b.pending_id))
        });
        Ok(page(hits.into_iter(), limit, offset))
    }
}

use std::sync::Arc;

use async_trait::async_trait;
use sled::transaction::ConflictableTransactionError as Tx;

use super::codec::{ApprovalRecord, decode, encode};
use super::{Database, backend, tx_error};
use crate::domain::approval::{Approval, ApprovalDecision};
use crate::ports::{ApprovalFilter, ApprovalStore, CreateOutcome, DecideOutcome, StoreResult};

/// Rows under `pending_id`.
pub(super) struct SledApprovals(pub Arc<Database>);

fn read(bytes: &[u8]) -> StoreResult<Approval> {
    Approval::try_from(decode::<ApprovalRecord>(bytes, "approval")?)
}

#[async_trait]
impl ApprovalStore for SledApprovals {
    async fn create(&self, approval: &Approval) -> StoreResult<CreateOutcome> {
        let row = approval.clone();
        self.0
            .run(move |db| {
                let bytes = encode(&ApprovalRecord::from(&row))?;
                let swapped = db
                    .approvals
                    .compare_and_swap(
                        row.pending_id.as_bytes(),
                        None as Option<&[u8]>,
                        Some(bytes),
                    )
                    .map_err(backend)?;
                Ok(if swapped.is_ok() {
                    CreateOutcome::Created
                } else {
                    CreateOutcome::AlreadyExists
                })
            })
            .await
    }

    async fn get(&self, pending_id: &str) -> StoreResult<Option<Approval>> {
        let id = pending_id.to_owned();
        self.0
            .run(move |db| {
                db.approvals
                    .get(id.as_bytes())
                    .map_err(backend)?
                    .map(|b| read(&b))
                    .transpose()
            })
            .await
    }

    async fn decide(
        &self,
        pending_id: &str,
        decision: &ApprovalDecision,
    ) -> StoreResult<DecideOutcome> {
        let (id, decision) = (pending_id.to_owned(), decision.clone());
        self.0
            .run(move |db| {
                db.approvals
                    .transaction(|tree| {
                        let Some(bytes) = tree.get(id.as_bytes())? else {
                            return Ok(DecideOutcome::NotFound);
                        };
                        let row = read(&bytes).map_err(Tx::Abort)?;
                        let Some(next) = row.decide(&decision) else {
                            return Ok(DecideOutcome::AlreadyDecided(row));
                        };
                        let encoded = encode(&ApprovalRecord::from(&next)).map_err(Tx::Abort)?;
                        tree.insert(id.as_bytes(), encoded)?;
                        Ok(DecideOutcome::Decided(next))
                    })
                    .map_err(tx_error)
            })
            .await
    }

    async fn list(
        &self,
        filter: &ApprovalFilter,
        limit: u32,
        offset: u64,
    ) -> StoreResult<Vec<Approval>> {
        let filter = filter.clone();
        self.0
            .run(move |db| {
                let mut rows = Vec::new();
                for kv in db.approvals.iter() {
                    let row = read(&kv.map_err(backend)?.1)?;
                    if filter.tenant.admits(&row.tenant)
                        && filter.status.is_none_or(|s| s == row.status)
                    {
                        rows.push(row);
                    }
                }
                rows.sort_by(|a, b| {
                    b.created_at
                        .cmp(&a.created_at)
                        .then_with(|| a.pending_id.cmp(&b.pending_id))
                });
                super::page(rows.into_iter().map(Ok), limit, offset)
            })
            .await
    }
}

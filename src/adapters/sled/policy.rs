use std::sync::Arc;

use async_trait::async_trait;
use sled::Transactional;
use sled::transaction::ConflictableTransactionError as Tx;

use super::codec::{ActiveRecord, DraftRecord, decode, encode};
use super::{Database, SledDb, backend, tx_error};
use crate::domain::policy::{ActivePolicy, DraftUpdate, PolicyDraft};
use crate::domain::tenant::TenantScope;
use crate::domain::time::Timestamp;
use crate::ports::{
    DeleteDraftOutcome, PolicyStore, PromoteOutcome, RollbackOutcome, StoreError, StoreResult,
};

/// Drafts under their id; active pointers under `t:<tenant>` (so the default slot `""`
/// has a non-empty key and sorts first), plus `index`: the list of slots that exist, so
/// a transaction (which cannot scan, and must not read outside itself: sled's
/// concurrency control is process-wide) can visit every pointer.
pub(super) struct SledPolicies(pub Arc<Database>);

const INDEX: &[u8] = b"index";

fn slot_key(tenant: &str) -> Vec<u8> {
    format!("t:{tenant}").into_bytes()
}

type TxTree = sled::transaction::TransactionalTree;
type TxResult<T> = sled::transaction::ConflictableTransactionResult<T, StoreError>;

fn read_index(active: &TxTree) -> TxResult<Vec<String>> {
    match active.get(INDEX)? {
        Some(bytes) => decode(&bytes, "policy slot index").map_err(Tx::Abort),
        None => Ok(Vec::new()),
    }
}

fn write_index(active: &TxTree, slots: &[String]) -> TxResult<()> {
    active.insert(INDEX, encode(&slots).map_err(Tx::Abort)?)?;
    Ok(())
}

fn read_draft(bytes: &[u8]) -> StoreResult<PolicyDraft> {
    decode::<DraftRecord>(bytes, "policy draft").map(PolicyDraft::from)
}

fn read_active(bytes: &[u8]) -> StoreResult<ActivePolicy> {
    decode::<ActiveRecord>(bytes, "policy pointer").map(ActivePolicy::from)
}

fn all_active(db: &SledDb) -> StoreResult<Vec<ActivePolicy>> {
    db.active
        .scan_prefix(b"t:")
        .map(|kv| read_active(&kv.map_err(backend)?.1))
        .collect()
}

#[async_trait]
impl PolicyStore for SledPolicies {
    async fn create_draft(&self, draft: &PolicyDraft) -> StoreResult<()> {
        let draft = draft.clone();
        self.0
            .run(move |db| {
                let bytes = encode(&DraftRecord::from(&draft))?;
                let swapped = db
                    .drafts
                    .compare_and_swap(draft.id.as_bytes(), None as Option<&[u8]>, Some(bytes))
                    .map_err(backend)?;
                swapped.map_err(|_| {
                    StoreError::InvalidRequest(format!("draft id {} exists", draft.id))
                })
            })
            .await
    }

    async fn update_draft(
        &self,
        id: &str,
        update: &DraftUpdate,
    ) -> StoreResult<Option<PolicyDraft>> {
        let (id, update) = (id.to_owned(), update.clone());
        self.0
            .run(move |db| {
                db.drafts
                    .transaction(|tree| {
                        let Some(bytes) = tree.get(id.as_bytes())? else {
                            return Ok(None);
                        };
                        let next = read_draft(&bytes).map_err(Tx::Abort)?.apply(&update);
                        tree.insert(
                            id.as_bytes(),
                            encode(&DraftRecord::from(&next)).map_err(Tx::Abort)?,
                        )?;
                        Ok(Some(next))
                    })
                    .map_err(tx_error)
            })
            .await
    }

    async fn get_draft(&self, id: &str) -> StoreResult<Option<PolicyDraft>> {
        let id = id.to_owned();
        self.0
            .run(move |db| {
                db.drafts
                    .get(id.as_bytes())
                    .map_err(backend)?
                    .map(|b| read_draft(&b))
                    .transpose()
            })
            .await
    }

    async fn list_drafts(
        &self,
        scope: &TenantScope,
        limit: u32,
        offset: u64,
    ) -> StoreResult<Vec<PolicyDraft>> {
        let scope = scope.clone();
        self.0
            .run(move |db| {
                let mut rows = Vec::new();
                for kv in db.drafts.iter() {
                    let draft = read_draft(&kv.map_err(backend)?.1)?;
                    if scope.admits(&draft.tenant) {
                        rows.push(draft);
                    }
                }
                rows.sort_by(|a, b| {
                    b.updated_at
                        .cmp(&a.updated_at)
                        .then_with(|| a.id.cmp(&b.id))
                });
                super::page(rows.into_iter().map(Ok), limit, offset)
            })
            .await
    }

    async fn delete_draft(&self, id: &str) -> StoreResult<DeleteDraftOutcome> {
        let id = id.to_owned();
        self.0
            .run(move |db| {
                (&db.drafts, &db.active)
                    .transaction(|(drafts, active)| {
                        if drafts.get(id.as_bytes())?.is_none() {
                            return Ok(DeleteDraftOutcome::NotFound);
                        }
                        for tenant in read_index(active)? {
                            let slot = active.get(slot_key(&tenant))?;
                            let slot = slot
                                .map(|b| read_active(&b))
                                .transpose()
                                .map_err(Tx::Abort)?;
                            if slot.is_some_and(|a| a.references(&id)) {
                                return Ok(DeleteDraftOutcome::InUse);
                            }
                        }
                        drafts.remove(id.as_bytes())?;
                        Ok(DeleteDraftOutcome::Deleted)
                    })
                    .map_err(tx_error)
            })
            .await
    }

    async fn active(&self, tenant: &str) -> StoreResult<ActivePolicy> {
        let tenant = tenant.to_owned();
        self.0
            .run(
                move |db| match db.active.get(slot_key(&tenant)).map_err(backend)? {
                    Some(bytes) => read_active(&bytes),
                    None => Ok(ActivePolicy::empty(&tenant)),
                },
            )
            .await
    }

    async fn list_active(&self) -> StoreResult<Vec<ActivePolicy>> {
        self.0.run(all_active).await
    }

    async fn promote(
        &self,
        tenant: &str,
        draft_id: &str,
        by: &str,
        at: Timestamp,
    ) -> StoreResult<PromoteOutcome> {
        let (tenant, draft_id, by) = (tenant.to_owned(), draft_id.to_owned(), by.to_owned());
        self.0
            .run(move |db| {
                (&db.drafts, &db.active)
                    .transaction(|(drafts, active)| {
                        if drafts.get(draft_id.as_bytes())?.is_none() {
                            return Ok(PromoteOutcome::DraftNotFound);
                        }
                        let key = slot_key(&tenant);
                        let slot = match active.get(&key)? {
                            Some(bytes) => read_active(&bytes).map_err(Tx::Abort)?,
                            None => ActivePolicy::empty(&tenant),
                        };
                        let Some(next) = slot.promote(&draft_id, &by, at) else {
                            return Ok(PromoteOutcome::Unchanged(slot));
                        };
                        let mut index = read_index(active)?;
                        if !index.contains(&tenant) {
                            index.push(tenant.clone());
                            write_index(active, &index)?;
                        }
                        active
                            .insert(key, encode(&ActiveRecord::from(&next)).map_err(Tx::Abort)?)?;
                        Ok(PromoteOutcome::Promoted(next))
                    })
                    .map_err(tx_error)
            })
            .await
    }

    async fn rollback(
        &self,
        tenant: &str,
        by: &str,
        at: Timestamp,
    ) -> StoreResult<RollbackOutcome> {
        let (tenant, by) = (tenant.to_owned(), by.to_owned());
        self.0
            .run(move |db| {
                db.active
                    .transaction(|active| {
                        let key = slot_key(&tenant);
                        let Some(bytes) = active.get(&key)? else {
                            return Ok(RollbackOutcome::NothingToRollBack);
                        };
                        let slot = read_active(&bytes).map_err(Tx::Abort)?;
                        let Some(next) = slot.rollback(&by, at) else {
                            return Ok(RollbackOutcome::NothingToRollBack);
                        };
                        active
                            .insert(key, encode(&ActiveRecord::from(&next)).map_err(Tx::Abort)?)?;
                        Ok(RollbackOutcome::RolledBack(next))
                    })
                    .map_err(tx_error)
            })
            .await
    }

    async fn clear_active(&self, tenant: &str) -> StoreResult<ActivePolicy> {
        let tenant = tenant.to_owned();
        self.0
            .run(move |db| {
                if tenant.is_empty() {
                    return match db.active.get(slot_key("")).map_err(backend)? {
                        Some(bytes) => read_active(&bytes),
                        None => Ok(ActivePolicy::default()),
                    };
                }
                db.active
                    .transaction(|active| {
                        active.remove(slot_key(&tenant))?;
                        let mut index = read_index(active)?;
                        index.retain(|t| *t != tenant);
                        write_index(active, &index)
                    })
                    .map_err(tx_error)?;
                Ok(ActivePolicy::empty(&tenant))
            })
            .await
    }
}

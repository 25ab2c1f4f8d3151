use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;

use super::codec::{RevocationRecord, decode, encode};
use super::{Database, SledDb, backend, key2, tx_error};
use crate::domain::revocation::{Revocation, RevokedSet};
use crate::domain::tenant::TenantScope;
use crate::ports::{RevocationStore, RevokeOutcome, StoreResult};

/// Rows under `jti 0 tenant`, and every revoked pair in memory for the hot-path
/// lookup. The set is exact: sled locks its directory, so every revocation goes through
/// this process's [`RevocationStore::revoke`], which adds to the set once the row is
/// stored.
pub(super) struct SledRevocations {
    db: Arc<Database>,
    revoked: RwLock<RevokedSet>,
}

/// Every stored revocation, for the lookup set.
pub(super) fn load(db: &SledDb) -> StoreResult<RevokedSet> {
    let mut revoked = RevokedSet::default();
    for kv in db.revocations.iter() {
        let (_, v) = kv.map_err(backend)?;
        let row: Revocation = decode::<RevocationRecord>(&v, "revocation")?.into();
        revoked.insert(&row.jti, &row.tenant);
    }
    Ok(revoked)
}

impl SledRevocations {
    pub(super) fn new(db: Arc<Database>, revoked: RevokedSet) -> Self {
        Self {
            db,
            revoked: RwLock::new(revoked),
        }
    }

    /// Stores the row (see [`RevocationStore::revoke`]).
    async fn store(&self, revocation: &Revocation) -> StoreResult<RevokeOutcome> {
        let new = revocation.clone();
        self.db
            .run(move |db| {
                let key = key2(&new.jti, new.tenant.as_bytes());
                let fresh = encode(&RevocationRecord::from(&new))?;
                db.revocations
                    .transaction(|tree| {
                        let Some(old) = tree.get(&key)? else {
                            tree.insert(key.as_slice(), fresh.as_slice())?;
                            return Ok(RevokeOutcome::Revoked(new.clone()));
                        };
                        let mut row: Revocation = decode::<RevocationRecord>(&old, "revocation")
                            .map_err(sled::transaction::ConflictableTransactionError::Abort)?
                            .into();
                        row.reason.clone_from(&new.reason);
                        let bytes = encode(&RevocationRecord::from(&row))
                            .map_err(sled::transaction::ConflictableTransactionError::Abort)?;
                        tree.insert(key.as_slice(), bytes)?;
                        Ok(RevokeOutcome::AlreadyRevoked(row))
                    })
                    .map_err(tx_error)
            })
            .await
    }
}

#[async_trait]
impl RevocationStore for SledRevocations {
    async fn is_revoked(&self, jti: &str, tenant: &str) -> StoreResult<bool> {
        let revoked = self.revoked.read().unwrap_or_else(PoisonError::into_inner);
        Ok(revoked.covers(jti, tenant))
    }

    async fn revoke(&self, revocation: &Revocation) -> StoreResult<RevokeOutcome> {
        let outcome = self.store(revocation).await?;
        self.revoked
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(&revocation.jti, &revocation.tenant);
        Ok(outcome)
    }

    async fn list(
        &self,
        scope: &TenantScope,
        limit: u32,
        offset: u64,
    ) -> StoreResult<Vec<Revocation>> {
        let scope = scope.clone();
        self.db
            .run(move |db| {
                let mut rows = Vec::new();
                for kv in db.revocations.iter() {
                    let (_, v) = kv.map_err(backend)?;
                    let row: Revocation = decode::<RevocationRecord>(&v, "revocation")?.into();
                    if scope.admits(&row.tenant) {
                        rows.push(row);
                    }
                }
                rows.sort_by(|a, b| {
                    b.revoked_at
                        .cmp(&a.revoked_at)
                        .then_with(|| a.jti.cmp(&b.jti))
                });
                super::page(rows.into_iter().map(Ok), limit, offset)
            })
            .await
    }
}

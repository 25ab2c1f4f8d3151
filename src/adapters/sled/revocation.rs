use std::sync::Arc;

use async_trait::async_trait;

use super::codec::{RevocationRecord, decode, encode};
use super::{SledDb, backend, blocking, key2, tx_error};
use crate::domain::audit::TenantScope;
use crate::domain::revocation::Revocation;
use crate::ports::{RevocationStore, RevokeOutcome, StoreResult};

/// Rows under `jti 0 tenant`.
pub(super) struct SledRevocations(pub Arc<SledDb>);

#[async_trait]
impl RevocationStore for SledRevocations {
    async fn is_revoked(&self, jti: &str, tenant: &str) -> StoreResult<bool> {
        let (db, jti, tenant) = (Arc::clone(&self.0), jti.to_owned(), tenant.to_owned());
        blocking(move || {
            let has = |t: &str| {
                db.revocations
                    .contains_key(key2(&jti, t.as_bytes()))
                    .map_err(backend)
            };
            Ok(has(&tenant)? || has("")?)
        })
        .await
    }

    async fn revoke(&self, revocation: &Revocation) -> StoreResult<RevokeOutcome> {
        let (db, new) = (Arc::clone(&self.0), revocation.clone());
        blocking(move || {
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

    async fn list(
        &self,
        scope: &TenantScope,
        limit: u32,
        offset: u64,
    ) -> StoreResult<Vec<Revocation>> {
        let (db, scope) = (Arc::clone(&self.0), scope.clone());
        blocking(move || {
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

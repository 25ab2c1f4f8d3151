use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{lock, page};
use crate::domain::audit::TenantScope;
use crate::domain::revocation::Revocation;
use crate::ports::{RevocationStore, RevokeOutcome, StoreResult};

/// Rows keyed by (jti, tenant).
#[derive(Default)]
pub struct MemoryRevocations {
    rows: Mutex<HashMap<(String, String), Revocation>>,
}

#[async_trait]
impl RevocationStore for MemoryRevocations {
    async fn is_revoked(&self, jti: &str, tenant: &str) -> StoreResult<bool> {
        let rows = lock(&self.rows);
        let has = |t: &str| rows.contains_key(&(jti.to_owned(), t.to_owned()));
        Ok(has(tenant) || has(""))
    }

    async fn revoke(&self, revocation: &Revocation) -> StoreResult<RevokeOutcome> {
        let key = (revocation.jti.clone(), revocation.tenant.clone());
        let mut rows = lock(&self.rows);
        if let Some(row) = rows.get_mut(&key) {
            row.reason.clone_from(&revocation.reason);
            return Ok(RevokeOutcome::AlreadyRevoked(row.clone()));
        }
        rows.insert(key, revocation.clone());
        Ok(RevokeOutcome::Revoked(revocation.clone()))
    }

    async fn list(
        &self,
        scope: &TenantScope,
        limit: u32,
        offset: u64,
    ) -> StoreResult<Vec<Revocation>> {
        let mut hits: Vec<Revocation> = lock(&self.rows)
            .values()
            .filter(|r| scope.admits(&r.tenant))
            .cloned()
            .collect();
        hits.sort_by(|a, b| {
            b.revoked_at
                .cmp(&a.revoked_at)
                .then_with(|| a.jti.cmp(&b.jti))
        });
        Ok(page(hits.into_iter(), limit, offset))
    }
}

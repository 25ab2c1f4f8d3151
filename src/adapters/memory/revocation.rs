use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{lock, page};
use crate::domain::revocation::Revocation;
use crate::domain::tenant::TenantScope;
use crate::ports::{RevocationStore, RevokeOutcome, StoreResult};

/// Rows by jti, then tenant, so the hot-path lookup borrows instead of allocating.
#[derive(Default)]
pub struct MemoryRevocations {
    rows: Mutex<HashMap<String, HashMap<String, Revocation>>>,
}

#[async_trait]
impl RevocationStore for MemoryRevocations {
    async fn is_revoked(&self, jti: &str, tenant: &str) -> StoreResult<bool> {
        let rows = lock(&self.rows);
        Ok(rows
            .get(jti)
            .is_some_and(|by_tenant| by_tenant.contains_key(tenant) || by_tenant.contains_key("")))
    }

    async fn revoke(&self, revocation: &Revocation) -> StoreResult<RevokeOutcome> {
        let mut rows = lock(&self.rows);
        let by_tenant = rows.entry(revocation.jti.clone()).or_default();
        if let Some(row) = by_tenant.get_mut(&revocation.tenant) {
            row.reason.clone_from(&revocation.reason);
            return Ok(RevokeOutcome::AlreadyRevoked(row.clone()));
        }
        by_tenant.insert(revocation.tenant.clone(), revocation.clone());
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
            .flat_map(HashMap::values)
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

//! Revoked token ids.

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::revocation::Revocation;
use crate::domain::tenant::TenantScope;

/// Whether a `revoke` created the row or found one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevokeOutcome {
    Revoked(Revocation),
    /// A row for (jti, tenant) existed: its reason is now the new one and its
    /// `revoked_at` the original. Carries the updated row.
    AlreadyRevoked(Revocation),
}

#[async_trait]
pub trait RevocationStore: Send + Sync {
    /// True when a row exists for (`jti`, `tenant`) or for (`jti`, `""`) (global).
    /// On the hot path of every call; an `Err` must make the caller deny (fail closed).
    async fn is_revoked(&self, jti: &str, tenant: &str) -> StoreResult<bool>;

    /// Idempotent per (jti, tenant): re-revoking updates the reason and keeps the first
    /// `revoked_at`.
    async fn revoke(&self, revocation: &Revocation) -> StoreResult<RevokeOutcome>;

    /// Rows in `scope` (`Only("")` means global rows only), newest `revoked_at` first.
    async fn list(
        &self,
        scope: &TenantScope,
        limit: u32,
        offset: u64,
    ) -> StoreResult<Vec<Revocation>>;
}

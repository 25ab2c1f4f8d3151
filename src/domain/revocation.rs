//! Revoked token ids.

use super::time::Timestamp;

/// A revoked `jti` within a tenant; tenant `""` is a global (superadmin) revocation
/// that applies to every tenant's token with that id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revocation {
    pub jti: String,
    pub tenant: String,
    pub reason: String,
    pub revoked_at: Timestamp,
}

impl Revocation {
    /// Whether this row revokes the token `jti` signed for `tenant`.
    pub fn covers(&self, jti: &str, tenant: &str) -> bool {
        self.jti == jti && (self.tenant == tenant || self.tenant.is_empty())
    }
}

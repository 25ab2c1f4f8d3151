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

/// The revoked (jti, tenant) pairs, for answering the hot-path lookup from memory.
/// Rows are never deleted, so the set only grows.
#[derive(Clone, Debug, Default)]
pub struct RevokedSet {
    tenants_by_jti: std::collections::HashMap<String, std::collections::HashSet<String>>,
}

impl RevokedSet {
    pub fn insert(&mut self, jti: &str, tenant: &str) {
        self.tenants_by_jti
            .entry(jti.to_owned())
            .or_default()
            .insert(tenant.to_owned());
    }

    /// Whether a row revokes `jti` for `tenant`: its own or a global one.
    pub fn covers(&self, jti: &str, tenant: &str) -> bool {
        self.tenants_by_jti
            .get(jti)
            .is_some_and(|tenants| tenants.contains(tenant) || tenants.contains(""))
    }
}

#[cfg(test)]
mod tests {
    use super::RevokedSet;

    #[test]
    fn a_set_covers_its_tenant_and_global_rows_only() {
        let mut set = RevokedSet::default();
        set.insert("t1", "acme");
        set.insert("t2", "");
        assert!(set.covers("t1", "acme"));
        assert!(!set.covers("t1", "globex"));
        assert!(set.covers("t2", "globex"));
        assert!(!set.covers("t3", "acme"));
    }
}

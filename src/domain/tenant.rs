//! Tenant scoping: which tenants' rows a listing or query covers.

/// Which tenants a listing covers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TenantScope {
    /// Every tenant (superadmin without a tenant filter).
    #[default]
    All,
    /// Exactly this tenant's rows.
    Only(String),
}

impl TenantScope {
    /// The reference convention: an empty tenant filter means every tenant.
    pub fn from_filter(tenant: &str) -> Self {
        if tenant.is_empty() {
            Self::All
        } else {
            Self::Only(tenant.to_owned())
        }
    }

    /// The one tenant of `Only`, `None` for every tenant (SQL filters bind this).
    pub fn tenant(&self) -> Option<&str> {
        match self {
            Self::All => None,
            Self::Only(t) => Some(t),
        }
    }

    pub fn admits(&self, tenant: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(t) => t == tenant,
        }
    }
}

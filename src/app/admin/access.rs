//! Who may call the admin API, and what a caller's tenant lets it see.

use crate::domain::credentials::{Secret, TenantAdmins};

/// The configured admin tokens.
#[derive(Clone, Debug, Default)]
pub struct AdminAccess {
    pub superadmin: Option<Secret>,
    pub tenants: TenantAdmins,
}

/// An authenticated admin: the superadmin (tenant `""`) or one tenant's admin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    tenant: String,
    superadmin: bool,
}

/// The caller asked for another tenant than its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TenantMismatch;

impl AdminAccess {
    /// Admin routes exist only when some admin token is configured.
    pub fn enabled(&self) -> bool {
        self.superadmin.is_some() || !self.tenants.is_empty()
    }

    /// Resolves an `Authorization` header as the reference does: a leading `Bearer `
    /// is removed if present, the rest trimmed. The superadmin token is tried first,
    /// then every tenant token (all compared, in constant time).
    pub fn resolve(&self, authorization: Option<&str>) -> Option<Caller> {
        let raw = authorization?;
        let presented = raw.strip_prefix("Bearer ").unwrap_or(raw).trim();
        if presented.is_empty() {
            return None;
        }
        let superadmin = self
            .superadmin
            .as_ref()
            .is_some_and(|s| !s.expose().is_empty() && s.matches(presented));
        let tenant = self.tenants.resolve(presented);
        if superadmin {
            return Some(Caller::superadmin());
        }
        tenant.map(Caller::tenant_admin)
    }

    /// Tenants with an admin token, ascending.
    pub fn tenant_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .tenants
            .0
            .iter()
            .filter(|(t, k)| !t.is_empty() && !k.expose().is_empty())
            .map(|(t, _)| t.clone())
            .collect();
        ids.sort();
        ids
    }
}

impl Caller {
    pub fn superadmin() -> Self {
        Self {
            tenant: String::new(),
            superadmin: true,
        }
    }

    pub fn tenant_admin(tenant: &str) -> Self {
        Self {
            tenant: tenant.to_owned(),
            superadmin: false,
        }
    }

    pub fn is_superadmin(&self) -> bool {
        self.superadmin
    }

    /// `""` for the superadmin.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The tenant an operation acts on: a tenant admin is confined to its own (an
    /// empty request means its own); the superadmin gets what it asked for.
    pub fn scope(&self, requested: &str) -> Result<String, TenantMismatch> {
        if self.superadmin {
            return Ok(requested.to_owned());
        }
        if requested.is_empty() || requested == self.tenant {
            Ok(self.tenant.clone())
        } else {
            Err(TenantMismatch)
        }
    }

    /// Whether a row owned by `tenant` is visible to this caller.
    pub fn owns(&self, tenant: &str) -> bool {
        self.superadmin || tenant == self.tenant
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access() -> AdminAccess {
        AdminAccess {
            superadmin: Some(Secret::new("super")),
            tenants: TenantAdmins::parse("acme:tok-acme,globex:tok-globex").unwrap(),
        }
    }

    #[test]
    fn resolves_bearer_and_bare_tokens() {
        let a = access();
        assert_eq!(a.resolve(Some("Bearer super")), Some(Caller::superadmin()));
        assert_eq!(a.resolve(Some("super")), Some(Caller::superadmin()));
        assert_eq!(
            a.resolve(Some("Bearer  tok-acme ")),
            Some(Caller::tenant_admin("acme"))
        );
        assert_eq!(a.resolve(Some("bearer super")), None);
        assert_eq!(a.resolve(Some("Bearer ")), None);
        assert_eq!(a.resolve(None), None);
        assert_eq!(a.resolve(Some("Bearer nope")), None);
    }

    #[test]
    fn tenant_admins_are_confined() {
        let acme = Caller::tenant_admin("acme");
        assert_eq!(acme.scope(""), Ok("acme".into()));
        assert_eq!(acme.scope("acme"), Ok("acme".into()));
        assert_eq!(acme.scope("globex"), Err(TenantMismatch));
        assert_eq!(Caller::superadmin().scope("globex"), Ok("globex".into()));
        assert_eq!(Caller::superadmin().scope(""), Ok(String::new()));
        assert!(!acme.owns("globex") && acme.owns("acme"));
    }
}

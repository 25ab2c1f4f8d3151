//! `INTENTGATE_TENANT_ADMINS`: `tenant:token,tenant2:token2`, parsed as the reference.

use super::Secret;

/// Per-tenant admin tokens, in configuration order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TenantAdmins(pub Vec<(String, Secret)>);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TenantAdminsError {
    #[error("INTENTGATE_TENANT_ADMINS: entry {0:?} must be in tenant:token format")]
    NotPair(String),
    #[error("INTENTGATE_TENANT_ADMINS: duplicate tenant {0:?}")]
    Duplicate(String),
}

impl TenantAdmins {
    /// Entries are split on `,` and trimmed (empty ones skipped), then split at the
    /// first `:`; tokens may contain `:`, tenants may not. Because the entry is trimmed
    /// and both sides must be non-empty, the trimmed sides are never empty either.
    /// Errors quote the tenant only, never a token.
    pub fn parse(text: &str) -> Result<Self, TenantAdminsError> {
        let mut admins: Vec<(String, Secret)> = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let label = entry.split(':').next().unwrap_or_default().to_owned();
            let (tenant, token) = match entry.split_once(':') {
                Some((t, k)) if !t.is_empty() && !k.is_empty() => (t.trim(), k.trim()),
                _ => return Err(TenantAdminsError::NotPair(label)),
            };
            if admins.iter().any(|(t, _)| t == tenant) {
                return Err(TenantAdminsError::Duplicate(tenant.to_owned()));
            }
            admins.push((tenant.to_owned(), Secret::new(token)));
        }
        Ok(Self(admins))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The tenant whose token is `presented`. Every slot is compared, even after a
    /// match, so timing does not reveal which slot matched.
    pub fn resolve(&self, presented: &str) -> Option<&str> {
        let mut found = None;
        for (tenant, token) in &self.0 {
            if token.matches(presented) && found.is_none() {
                found = Some(tenant.as_str());
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_reference_format() {
        let admins = TenantAdmins::parse(" acme : tok:with:colons , ,globex:t2,").unwrap();
        assert_eq!(admins.resolve("tok:with:colons"), Some("acme"));
        assert_eq!(admins.resolve("t2"), Some("globex"));
        assert_eq!(admins.resolve("nope"), None);
        assert!(TenantAdmins::parse("   ").unwrap().is_empty());
    }

    #[test]
    fn rejects_bad_entries_without_echoing_tokens() {
        assert_eq!(
            TenantAdmins::parse("acme"),
            Err(TenantAdminsError::NotPair("acme".into()))
        );
        assert_eq!(
            TenantAdmins::parse(":tok"),
            Err(TenantAdminsError::NotPair("".into()))
        );
        assert_eq!(
            TenantAdmins::parse("acme:"),
            Err(TenantAdminsError::NotPair("acme".into()))
        );
        assert_eq!(
            TenantAdmins::parse("acme : "),
            Err(TenantAdminsError::NotPair("acme ".into()))
        );
        let dup = TenantAdmins::parse("a:x,a:y");
        assert_eq!(dup, Err(TenantAdminsError::Duplicate("a".into())));
        let err = TenantAdmins::parse("acme:ok,:s3cret")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("s3cret"), "{err}");
    }
}

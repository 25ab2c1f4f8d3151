//! Credentials: secrets that are never shown by `Debug` or `Display` and are compared
//! in constant time, and the tenant admin tokens.

mod tenant_admins;

pub use tenant_admins::{TenantAdmins, TenantAdminsError};

use std::fmt;

use subtle::ConstantTimeEq;

/// A secret string (admin token, database URL, webhook secret).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that must use it (a driver, an HMAC).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison with a presented credential (timing reveals neither
    /// a matching prefix nor, beyond its length, the secret).
    pub fn matches(&self, presented: &str) -> bool {
        bool::from(self.0.as_bytes().ct_eq(presented.as_bytes()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        assert_eq!(
            format!("{:?}", Secret::new("hunter2")),
            "Secret(<redacted>)"
        );
    }

    #[test]
    fn matches_exactly() {
        let s = Secret::new("token-1");
        assert!(s.matches("token-1"));
        assert!(!s.matches("token-2"));
        assert!(!s.matches("token-10"));
        assert!(!s.matches(""));
    }
}

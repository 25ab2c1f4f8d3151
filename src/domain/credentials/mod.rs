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

/// The URL with the password in its user info replaced by `***`, as Go's HTTP client
/// shows URLs (`http://agent:***@tools/`); anything else is returned as it is. The user
/// info ends at the last `@`, so a password that holds `/` or `@` is masked whole.
pub fn mask_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
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

    #[test]
    fn a_url_password_is_masked_as_go_masks_it() {
        let cases = [
            (
                "http://agent:s3cret@tools:8080/mcp",
                "http://agent:***@tools:8080/mcp",
            ),
            (
                "http://agent:s/3@cret@tools/mcp",
                "http://agent:***@tools/mcp",
            ),
            (
                "postgres://app:pw@db/ig?sslmode=off",
                "postgres://app:***@db/ig?sslmode=off",
            ),
            ("http://agent@tools/mcp", "http://agent@tools/mcp"),
            ("http://tools/mcp", "http://tools/mcp"),
            ("not a url", "not a url"),
        ];
        for (url, shown) in cases {
            assert_eq!(mask_url_password(url), shown, "{url}");
        }
    }
}

//! OAuth sign-in: which authorization servers are trusted and what their tokens must
//! say (`INTENTGATE_OAUTH_*`). Off unless `INTENTGATE_OAUTH_ISSUERS` is set.

use std::time::Duration;

use super::non_negative;
use crate::domain::oauth::{
    AccessRules, DEFAULT_ALGORITHMS, TrustedIssuer, fetchable, is_tenant_name, parse_algorithm,
};

/// Tenant of tokens that name none: none, like a capability token minted without one
/// (their events go to the default chain).
pub const DEFAULT_OAUTH_TENANT: &str = "";
/// Default clock skew tolerated on `exp` and `nbf`.
pub const DEFAULT_LEEWAY_SECS: i64 = 30;
/// Default spacing of key fetches for tokens signed by an unknown key.
pub const DEFAULT_KEYS_MIN_INTERVAL: Duration = Duration::from_secs(30);
/// Default period of key refreshes.
pub const DEFAULT_KEYS_REFRESH: Duration = Duration::from_secs(300);

#[derive(Clone, Debug)]
pub struct OAuthSettings {
    pub rules: AccessRules,
    /// `INTENTGATE_OAUTH_KEYS_MIN_INTERVAL_S`: unknown-key fetches at most this often.
    pub keys_min_interval: Duration,
    /// `INTENTGATE_OAUTH_KEYS_REFRESH_S`: every issuer's keys fetched this often.
    pub keys_refresh: Duration,
}

impl OAuthSettings {
    /// `Ok(None)` when no issuer is configured; each problem is one message.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, Vec<String>> {
        let Some(list) = get("INTENTGATE_OAUTH_ISSUERS") else {
            return Ok(None);
        };
        let mut errors = Vec::new();
        let issuers = issuers(&list, &mut errors);
        let resource = get("INTENTGATE_OAUTH_RESOURCE").unwrap_or_else(|| {
            errors.push(
                "INTENTGATE_OAUTH_ISSUERS needs INTENTGATE_OAUTH_RESOURCE, the URL clients \
                 reach /v1/mcp at (tokens must be issued for it)"
                    .into(),
            );
            String::new()
        });
        if !resource.is_empty() && !absolute_url(&resource) {
            errors.push(format!(
                "INTENTGATE_OAUTH_RESOURCE={resource:?} must be an absolute http(s) URL without a fragment"
            ));
        }
        let algorithms: Vec<_> = match get("INTENTGATE_OAUTH_ALGORITHMS") {
            None => DEFAULT_ALGORITHMS.to_vec(),
            Some(text) => text
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .filter_map(|a| {
                    parse_algorithm(a)
                        .map_err(|e| errors.push(format!("INTENTGATE_OAUTH_ALGORITHMS: {e}")))
                        .ok()
                })
                .collect(),
        };
        if algorithms.is_empty() {
            errors.push("INTENTGATE_OAUTH_ALGORITHMS names no algorithm".into());
        }
        let mut number = |name: &str, default: u64| non_negative(&get, name, default, &mut errors);
        let leeway = number(
            "INTENTGATE_OAUTH_LEEWAY_S",
            DEFAULT_LEEWAY_SECS.unsigned_abs(),
        );
        let max_calls = number("INTENTGATE_OAUTH_MAX_CALLS", 0);
        let min_interval = number(
            "INTENTGATE_OAUTH_KEYS_MIN_INTERVAL_S",
            DEFAULT_KEYS_MIN_INTERVAL.as_secs(),
        );
        let refresh = number(
            "INTENTGATE_OAUTH_KEYS_REFRESH_S",
            DEFAULT_KEYS_REFRESH.as_secs(),
        );
        let tool_scopes = match get("INTENTGATE_OAUTH_TOOL_SCOPES").as_deref() {
            None | Some("true") => true,
            Some("false") => false,
            Some(other) => {
                errors.push(format!(
                    "INTENTGATE_OAUTH_TOOL_SCOPES={other:?}: use true (scopes tools:NAME open tools) \
                     or false (the policy alone decides)"
                ));
                true
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Some(Self {
            rules: AccessRules {
                resource,
                issuers,
                tenant_claim: get("INTENTGATE_OAUTH_TENANT_CLAIM"),
                default_tenant: get("INTENTGATE_OAUTH_TENANT")
                    .unwrap_or_else(|| DEFAULT_OAUTH_TENANT.to_owned()),
                tool_scopes,
                algorithms,
                leeway_secs: i64::try_from(leeway).unwrap_or(i64::MAX),
                max_calls: (max_calls > 0).then_some(max_calls),
            },
            // At least a second: a token naming an unknown key is unauthenticated, and
            // each one must not become a request to the issuer.
            keys_min_interval: Duration::from_secs(min_interval.max(1)),
            keys_refresh: Duration::from_secs(refresh.max(1)),
        }))
    }
}

/// `ISSUER[=TENANT]`, comma-separated: the tenant pins every token of that issuer.
fn issuers(list: &str, errors: &mut Vec<String>) -> Vec<TrustedIssuer> {
    let mut issuers = Vec::new();
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (issuer, tenant) = match entry.rsplit_once('=') {
            Some((issuer, tenant)) if !tenant.contains('/') => {
                (issuer.trim(), Some(tenant.trim().to_owned()))
            }
            _ => (entry, None),
        };
        if !absolute_url(issuer) {
            errors.push(format!(
                "INTENTGATE_OAUTH_ISSUERS: {issuer:?} is not an absolute http(s) URL"
            ));
            continue;
        }
        if !fetchable(issuer) {
            errors.push(format!(
                "INTENTGATE_OAUTH_ISSUERS: {issuer:?} must be https (plain http only on this machine)"
            ));
            continue;
        }
        if issuers.iter().any(|i: &TrustedIssuer| i.issuer == issuer) {
            errors.push(format!(
                "INTENTGATE_OAUTH_ISSUERS: {issuer:?} is listed twice"
            ));
            continue;
        }
        let tenant = tenant.filter(|t| !t.is_empty());
        if let Some(t) = tenant.as_deref().filter(|t| !is_tenant_name(t)) {
            errors.push(format!(
                "INTENTGATE_OAUTH_ISSUERS: tenant {t:?} of {issuer:?} must be 1-64 of A-Z a-z 0-9 . _ -"
            ));
            continue;
        }
        issuers.push(TrustedIssuer {
            issuer: issuer.to_owned(),
            tenant,
        });
    }
    if issuers.is_empty() && errors.is_empty() {
        errors.push("INTENTGATE_OAUTH_ISSUERS names no issuer".into());
    }
    issuers
}

/// An absolute http(s) URL of printable ASCII without quotes, backslashes, spaces or a
/// fragment: it goes into `WWW-Authenticate` and into budget and session keys as is.
fn absolute_url(text: &str) -> bool {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    let plain = text
        .bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\\' | b'#'));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/')) && plain
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Option<OAuthSettings>, Vec<String>> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        OAuthSettings::from_lookup(|n| map.get(n).cloned())
    }

    #[test]
    fn off_without_issuers() {
        assert!(load(&[]).unwrap().is_none());
    }

    #[test]
    fn issuers_resource_and_limits_are_read() {
        let s = load(&[
            (
                "INTENTGATE_OAUTH_ISSUERS",
                "https://login.example/realms/a=acme, http://127.0.0.1:4100",
            ),
            ("INTENTGATE_OAUTH_RESOURCE", "https://gw.example/v1/mcp"),
            ("INTENTGATE_OAUTH_MAX_CALLS", "100"),
            ("INTENTGATE_OAUTH_ALGORITHMS", "RS256, ES256"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(s.rules.issuers.len(), 2);
        assert_eq!(s.rules.issuers[0].issuer, "https://login.example/realms/a");
        assert_eq!(s.rules.issuers[0].tenant.as_deref(), Some("acme"));
        assert_eq!(s.rules.issuers[1].tenant, None);
        assert_eq!(s.rules.max_calls, Some(100));
        assert_eq!(s.rules.algorithms.len(), 2);
        assert!(s.rules.tool_scopes);
        assert_eq!(s.rules.default_tenant, "");
    }

    #[test]
    fn mistakes_are_named() {
        let errors = load(&[
            (
                "INTENTGATE_OAUTH_ISSUERS",
                "login.example, http://idp.example, https://a.example=bad:tenant",
            ),
            ("INTENTGATE_OAUTH_ALGORITHMS", "HS256"),
            ("INTENTGATE_OAUTH_TOOL_SCOPES", "maybe"),
        ])
        .unwrap_err();
        let all = errors.join("\n");
        assert!(
            all.contains("\"login.example\" is not an absolute"),
            "{all}"
        );
        assert!(all.contains("needs INTENTGATE_OAUTH_RESOURCE"), "{all}");
        assert!(
            all.contains("\"http://idp.example\" must be https"),
            "{all}"
        );
        assert!(all.contains("tenant \"bad:tenant\""), "{all}");
        assert!(all.contains("HMAC"), "{all}");
        assert!(all.contains("INTENTGATE_OAUTH_TOOL_SCOPES"), "{all}");
    }
}

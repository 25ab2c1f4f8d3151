//! What an OAuth client is told: the protected-resource metadata (RFC 9728) and the
//! `WWW-Authenticate` challenge of a refusal (RFC 6750 §3).

use serde_json::{Value, json};

use super::AccessRules;

/// Why an OAuth client was refused, as its challenge says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Challenge {
    /// No usable credential: 401 without an error code, so the client signs in.
    Missing,
    /// A token that does not verify: 401 `invalid_token`, with why.
    InvalidToken(String),
    /// The token does not open this tool: 403 `insufficient_scope` with the scope
    /// that would.
    InsufficientScope(String),
}

/// The metadata document of this resource server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtectedResource {
    pub resource: String,
    pub authorization_servers: Vec<String>,
    pub scopes_supported: Vec<String>,
}

impl ProtectedResource {
    pub fn of(rules: &AccessRules) -> Self {
        Self {
            resource: rules.resource.clone(),
            authorization_servers: rules.issuers.iter().map(|i| i.issuer.clone()).collect(),
            scopes_supported: rules.scopes_supported(),
        }
    }

    pub fn to_json(&self) -> Value {
        let mut doc = json!({
            "resource": self.resource,
            "authorization_servers": self.authorization_servers,
            "bearer_methods_supported": ["header"],
            "resource_name": "IntentGate",
        });
        if !self.scopes_supported.is_empty() {
            doc["scopes_supported"] = json!(self.scopes_supported);
        }
        doc
    }

    /// The `WWW-Authenticate` value for `challenge`.
    pub fn challenge_header(&self, challenge: &Challenge) -> String {
        let mut params: Vec<(&str, String)> = Vec::with_capacity(4);
        match challenge {
            Challenge::Missing => {}
            Challenge::InvalidToken(why) => {
                params.push(("error", "invalid_token".to_owned()));
                params.push(("error_description", quotable(why)));
            }
            Challenge::InsufficientScope(scope) => {
                params.push(("error", "insufficient_scope".to_owned()));
                params.push(("scope", quotable(scope)));
            }
        }
        params.push(("resource_metadata", metadata_url(&self.resource)));
        let wanted = self.scopes_supported.join(" ");
        if !matches!(challenge, Challenge::InsufficientScope(_)) && !wanted.is_empty() {
            params.push(("scope", wanted));
        }
        let rendered: Vec<String> = params
            .into_iter()
            .map(|(name, value)| format!("{name}=\"{value}\""))
            .collect();
        format!("Bearer {}", rendered.join(", "))
    }
}

/// Where the metadata of `resource` is served: the well-known path inserted between
/// its origin and its path (RFC 9728 §3.1).
pub fn metadata_url(resource: &str) -> String {
    well_known(resource, "oauth-protected-resource")
}

/// `name` under `/.well-known/` of the URL's origin, followed by the URL's path (without
/// a trailing slash): where RFC 8414 and RFC 9728 put a URL's metadata.
pub fn well_known(url: &str, name: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let (origin, path) = match url[after_scheme..].find('/') {
        Some(i) => url.split_at(after_scheme + i),
        None => (url, ""),
    };
    let path = path.trim_end_matches('/');
    format!("{origin}/.well-known/{name}{path}")
}

/// A value that fits in a quoted-string of RFC 6750 (no `"` nor `\`, printable ASCII).
fn quotable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' => '\'',
            ' '..='~' if c != '\\' => c,
            _ => '?',
        })
        .collect()
}

//! OAuth 2.1 access tokens from trusted authorization servers (the gateway as a
//! resource server, as the MCP authorization spec asks): which tokens are accepted, who
//! they name, which tools they open, and what a refused client is told.
//!
//! Pure: the issuer's keys and the time are parameters. Fetching keys is the
//! `IssuerKeysSource` port's job, caching them the application's.

mod challenge;
mod claims;
mod keys;
#[cfg(test)]
mod tests;

pub use challenge::{Challenge, ProtectedResource, metadata_url, well_known};
pub use claims::{AccessToken, ToolGrant, is_tenant_name, peek_issuer, verify};
pub use keys::IssuerKeys;

use jsonwebtoken::Algorithm;

/// What the gateway requires of access tokens (from `INTENTGATE_OAUTH_*`).
#[derive(Clone, Debug)]
pub struct AccessRules {
    /// This gateway's resource URI: every token's `aud` must name it (RFC 8707).
    pub resource: String,
    pub issuers: Vec<TrustedIssuer>,
    /// The claim that names the caller's tenant, if tenants come from tokens.
    pub tenant_claim: Option<String>,
    /// The tenant of a token whose issuer names none and that carries no tenant claim.
    pub default_tenant: String,
    /// Tools are opened by scopes (`tools:NAME`, `tools:*`); otherwise by policy alone.
    pub tool_scopes: bool,
    /// Signature algorithms accepted; never `none` nor an HMAC one.
    pub algorithms: Vec<Algorithm>,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub leeway_secs: i64,
    /// Calls per subject per budget window; `None`: unlimited.
    pub max_calls: Option<u64>,
}

/// One authorization server whose tokens are accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedIssuer {
    /// The `iss` value, exactly as the server's metadata states it.
    pub issuer: String,
    /// Every token of this issuer belongs to this tenant (overrides the claim).
    pub tenant: Option<String>,
}

/// The scope that opens every tool.
pub const ALL_TOOLS_SCOPE: &str = "tools:*";
/// The prefix of a scope that opens one tool.
pub const TOOL_SCOPE_PREFIX: &str = "tools:";

impl AccessRules {
    pub fn trusted(&self, issuer: &str) -> Option<&TrustedIssuer> {
        self.issuers.iter().find(|i| i.issuer == issuer)
    }

    /// The scopes a client may ask for, as the metadata and challenges list them.
    pub fn scopes_supported(&self) -> Vec<String> {
        match self.tool_scopes {
            true => vec![ALL_TOOLS_SCOPE.to_owned()],
            false => Vec::new(),
        }
    }
}

/// The scope that opens `tool`.
pub fn tool_scope(tool: &str) -> String {
    format!("{TOOL_SCOPE_PREFIX}{tool}")
}

/// Why an access token was refused. Every one is a 401 `invalid_token`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccessTokenError {
    #[error("not a well-formed JWT: {0}")]
    Malformed(String),
    #[error("issuer {0:?} is not trusted")]
    UntrustedIssuer(String),
    #[error("signature algorithm {0} is not accepted")]
    Algorithm(String),
    #[error("no signing key {kid:?} published by {issuer}")]
    UnknownKey { issuer: String, kid: String },
    /// Why is in the log and `/readyz`, not told to clients.
    #[error("signing keys of {issuer} unavailable")]
    KeysUnavailable { issuer: String },
    #[error("signature does not verify")]
    Signature,
    #[error("token expired")]
    Expired,
    #[error("token not yet valid (nbf in future)")]
    NotYetValid,
    #[error("audience is not this gateway ({0})")]
    Audience(String),
    #[error("claim {0} is missing or malformed")]
    Claim(&'static str),
    #[error("sender-constrained tokens (cnf) are not accepted")]
    SenderConstrained,
}

impl AccessTokenError {
    /// The metric label.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::UntrustedIssuer(_) => "untrusted_issuer",
            Self::Algorithm(_) => "algorithm",
            Self::UnknownKey { .. } => "unknown_key",
            Self::KeysUnavailable { .. } => "keys_unavailable",
            Self::Signature => "signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::Audience(_) => "audience",
            Self::Claim(_) => "claim",
            Self::SenderConstrained => "sender_constrained",
        }
    }
}

/// At most 64 characters of a value the token chose (its `iss`, its `kid`), for
/// refusals that quote it.
pub(crate) fn clipped(text: &str) -> String {
    text.chars().take(64).collect()
}

/// Whether keys may be fetched from `url`: over TLS, or on this machine. Anyone on the
/// path of a plain-HTTP fetch could publish their own keys and forge every token.
pub fn fetchable(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether a bearer value is a JWT rather than a capability token (base64url JSON,
/// which never contains a dot).
pub fn looks_like_jwt(bearer: &str) -> bool {
    bearer.bytes().filter(|b| *b == b'.').count() == 2
}

/// The algorithms accepted when none are configured: the asymmetric ones.
pub const DEFAULT_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// An algorithm name as configured; HMAC ones are refused (an issuer's public key
/// must never become a shared secret).
pub fn parse_algorithm(name: &str) -> Result<Algorithm, String> {
    let alg: Algorithm = name
        .parse()
        .map_err(|_| format!("{name:?} is not a JWS algorithm"))?;
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => Err(format!(
            "{name} is an HMAC algorithm; only asymmetric signatures are accepted"
        )),
        other => Ok(other),
    }
}

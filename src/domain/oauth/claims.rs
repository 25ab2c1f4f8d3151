//! An access token's claims checked against the rules, and what they grant.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use super::keys::IssuerKeys;
use super::{ALL_TOOLS_SCOPE, AccessRules, AccessTokenError, TOOL_SCOPE_PREFIX, clipped};
use crate::domain::time::Timestamp;

/// A verified access token: who it names and what it grants.
#[derive(Clone, Debug, PartialEq)]
pub struct AccessToken {
    pub issuer: String,
    pub subject: String,
    /// `client_id`, else `azp`; empty when the token names no client.
    pub client_id: String,
    pub tenant: String,
    /// `jti`; empty when the token has none.
    pub token_id: String,
    pub scopes: Vec<String>,
    pub expires_at: i64,
    pub tools: ToolGrant,
    pub max_calls: Option<u64>,
    /// Every claim, for the policy's input.
    pub claims: Map<String, Value>,
}

/// Which tools a token opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToolGrant {
    /// Tool scopes are off: the policy alone decides.
    ByPolicy,
    /// The tools named by `tools:NAME` scopes; `tools:*` opens all.
    Scoped(Vec<String>),
}

impl AccessToken {
    pub fn allows_tool(&self, tool: &str) -> bool {
        match &self.tools {
            ToolGrant::ByPolicy => true,
            ToolGrant::Scoped(tools) => tools.iter().any(|t| t == "*" || t == tool),
        }
    }
}

/// The `iss` a JWT claims, read before its signature is checked, so the issuer's keys
/// can be found. Nothing else is trusted from an unverified token.
pub fn peek_issuer(jwt: &str) -> Result<String, AccessTokenError> {
    let malformed = |why: &str| AccessTokenError::Malformed(why.to_owned());
    let payload = jwt
        .split('.')
        .nth(1)
        .ok_or_else(|| malformed("no payload"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| malformed("payload is not base64url"))?;
    #[derive(serde::Deserialize)]
    struct Iss {
        iss: Option<Value>,
    }
    let iss: Iss = serde_json::from_slice(&bytes).map_err(|_| malformed("payload is not JSON"))?;
    match iss.iss {
        Some(Value::String(s)) => Ok(s),
        _ => Err(AccessTokenError::Claim("iss")),
    }
}

/// Checks `jwt` completely: issuer trusted, algorithm accepted, signature by one of the
/// issuer's keys, then `exp`, `nbf`, `aud`, `sub` and the tenant.
pub fn verify(
    jwt: &str,
    keys: &IssuerKeys,
    rules: &AccessRules,
    now: Timestamp,
) -> Result<AccessToken, AccessTokenError> {
    let issuer = peek_issuer(jwt)?;
    let trusted = rules
        .trusted(&issuer)
        .ok_or_else(|| AccessTokenError::UntrustedIssuer(clipped(&issuer)))?;
    let header =
        jsonwebtoken::decode_header(jwt).map_err(|e| AccessTokenError::Malformed(e.to_string()))?;
    if !rules.algorithms.contains(&header.alg) {
        return Err(AccessTokenError::Algorithm(format!("{:?}", header.alg)));
    }
    let Some(key) = keys.find(header.kid.as_deref(), header.alg) else {
        return Err(AccessTokenError::UnknownKey {
            issuer,
            kid: clipped(&header.kid.unwrap_or_default()),
        });
    };
    let claims = signed_claims(jwt, key, header.alg)?;
    check_claims(claims, &issuer, trusted.tenant.as_deref(), rules, now)
}

/// The payload, once the signature verified under `alg` only. Time and audience are
/// checked by [`check_claims`], against the time passed in.
fn signed_claims(
    jwt: &str,
    key: &jsonwebtoken::DecodingKey,
    alg: Algorithm,
) -> Result<Map<String, Value>, AccessTokenError> {
    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    jsonwebtoken::decode::<Map<String, Value>>(jwt, key, &validation)
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature
            | jsonwebtoken::errors::ErrorKind::InvalidKeyFormat
            | jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => AccessTokenError::Signature,
            _ => AccessTokenError::Malformed(e.to_string()),
        })
}

fn check_claims(
    claims: Map<String, Value>,
    issuer: &str,
    issuer_tenant: Option<&str>,
    rules: &AccessRules,
    now: Timestamp,
) -> Result<AccessToken, AccessTokenError> {
    let now = now.unix_seconds();
    let exp = number(&claims, "exp")?.ok_or(AccessTokenError::Claim("exp"))?;
    if now > exp.saturating_add(rules.leeway_secs) {
        return Err(AccessTokenError::Expired);
    }
    if number(&claims, "nbf")?.is_some_and(|nbf| nbf > now.saturating_add(rules.leeway_secs)) {
        return Err(AccessTokenError::NotYetValid);
    }
    if !audiences(&claims)?.iter().any(|a| *a == rules.resource) {
        return Err(AccessTokenError::Audience(rules.resource.clone()));
    }
    // A token bound to a key (DPoP, mTLS) is only safe where the binding is checked,
    // and this gateway does not check it: refused rather than taken as a bearer token.
    if claims.contains_key("cnf") {
        return Err(AccessTokenError::SenderConstrained);
    }
    let subject = text(&claims, "sub")?.ok_or(AccessTokenError::Claim("sub"))?;
    let client_id = match text(&claims, "client_id")? {
        Some(c) => c,
        None => text(&claims, "azp")?.unwrap_or_default(),
    };
    let tenant = tenant(&claims, issuer_tenant, rules)?;
    let scopes = scopes(&claims)?;
    let tools = match rules.tool_scopes {
        true => ToolGrant::Scoped(granted_tools(&scopes)),
        false => ToolGrant::ByPolicy,
    };
    Ok(AccessToken {
        issuer: issuer.to_owned(),
        subject,
        client_id,
        tenant,
        token_id: text(&claims, "jti")?.unwrap_or_default(),
        scopes,
        expires_at: exp,
        tools,
        max_calls: rules.max_calls,
        claims,
    })
}

/// The issuer's tenant, else the tenant claim, else the default.
fn tenant(
    claims: &Map<String, Value>,
    issuer_tenant: Option<&str>,
    rules: &AccessRules,
) -> Result<String, AccessTokenError> {
    if let Some(t) = issuer_tenant {
        return Ok(t.to_owned());
    }
    let Some(claim) = &rules.tenant_claim else {
        return Ok(rules.default_tenant.clone());
    };
    match claims.get(claim.as_str()) {
        None => Ok(rules.default_tenant.clone()),
        Some(Value::String(t)) if is_tenant_name(t) => Ok(t.clone()),
        Some(_) => Err(AccessTokenError::Claim("tenant")),
    }
}

/// A tenant a token may name: 1 to 64 of `A-Z a-z 0-9 . _ -`. The tenant names an
/// audit chain and keys stored data, so a claim carrying separators or control
/// characters must not reach them.
pub fn is_tenant_name(tenant: &str) -> bool {
    (1..=64).contains(&tenant.len())
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn granted_tools(scopes: &[String]) -> Vec<String> {
    scopes
        .iter()
        .filter_map(|s| match s.as_str() {
            ALL_TOOLS_SCOPE => Some("*".to_owned()),
            other => other.strip_prefix(TOOL_SCOPE_PREFIX).map(str::to_owned),
        })
        .filter(|t| !t.is_empty())
        .collect()
}

/// `scope` (RFC 9068: space-separated) or `scp` (a list, as some servers write it).
fn scopes(claims: &Map<String, Value>) -> Result<Vec<String>, AccessTokenError> {
    match (claims.get("scope"), claims.get("scp")) {
        (Some(Value::String(s)), _) => Ok(s.split_whitespace().map(str::to_owned).collect()),
        (Some(_), _) => Err(AccessTokenError::Claim("scope")),
        (None, Some(Value::Array(list))) => list
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or(AccessTokenError::Claim("scp")),
        (None, Some(Value::String(s))) => Ok(s.split_whitespace().map(str::to_owned).collect()),
        (None, Some(_)) => Err(AccessTokenError::Claim("scp")),
        (None, None) => Ok(Vec::new()),
    }
}

/// `aud`: one string or a list of strings.
fn audiences(claims: &Map<String, Value>) -> Result<Vec<&str>, AccessTokenError> {
    match claims.get("aud") {
        Some(Value::String(a)) => Ok(vec![a.as_str()]),
        Some(Value::Array(list)) => list
            .iter()
            .map(Value::as_str)
            .collect::<Option<Vec<_>>>()
            .ok_or(AccessTokenError::Claim("aud")),
        _ => Err(AccessTokenError::Claim("aud")),
    }
}

/// A NumericDate claim (fractions are cut to whole seconds).
fn number(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<i64>, AccessTokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or(AccessTokenError::Claim(name)),
        Some(_) => Err(AccessTokenError::Claim(name)),
    }
}

fn text(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, AccessTokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(AccessTokenError::Claim(name)),
    }
}

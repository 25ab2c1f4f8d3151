//! Bodies of the `Tokens` tag: mint, revoke and the revocation list.

use poem_openapi::Object;
use serde::{Deserialize, Serialize};

use super::{non_empty, null_default};
use crate::domain::revocation;

#[derive(Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct MintRequest {
    #[serde(default, deserialize_with = "null_default")]
    /// Not blank.
    #[oai(validator(pattern = r"\S"))]
    pub subject: String,
    #[serde(default)]
    #[oai(nullable)]
    pub issuer: Option<String>,
    #[serde(default)]
    #[oai(nullable)]
    pub tenant: Option<String>,
    #[serde(default)]
    #[oai(nullable, validator(minimum(value = "0")))]
    pub ttl_seconds: Option<i64>,
    /// Tool names (`tool_allow`); blank ones are skipped.
    #[serde(default)]
    #[oai(nullable)]
    pub tools: Option<Vec<String>>,
    #[serde(default)]
    #[oai(nullable, validator(minimum(value = "0")))]
    pub max_calls: Option<i64>,
    #[serde(default)]
    #[oai(nullable)]
    pub step_up: Option<bool>,
}

#[derive(Object, Serialize)]
pub struct MintResponse {
    /// RFC 3339 (seconds), or empty when the token does not expire.
    pub expires_at: String,
    pub jti: String,
    pub subject: String,
    pub token: String,
}

#[derive(Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct RevokeRequest {
    #[serde(default, deserialize_with = "null_default")]
    /// Not blank.
    #[oai(validator(pattern = r"\S"))]
    pub jti: String,
    #[serde(default)]
    #[oai(nullable)]
    pub reason: Option<String>,
}

/// A token id was revoked (or its reason updated).
#[derive(Object, Serialize)]
pub struct RevokeResponse {
    pub jti: String,
    pub ok: bool,
}

#[derive(Object, Serialize)]
pub struct Revocation {
    pub jti: String,
    pub revoked_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub tenant: Option<String>,
}

#[derive(Object, Serialize)]
pub struct RevocationsPage {
    pub limit: u32,
    pub offset: u64,
    pub revocations: Vec<Revocation>,
}

impl From<revocation::Revocation> for Revocation {
    fn from(r: revocation::Revocation) -> Self {
        Self {
            jti: r.jti,
            revoked_at: r.revoked_at.to_rfc3339_nano(),
            reason: non_empty(r.reason),
            tenant: non_empty(r.tenant),
        }
    }
}

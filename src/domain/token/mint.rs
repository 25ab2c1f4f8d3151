//! Minting (needs the master key) and attenuation (needs only the token).

use base64::Engine as _;

use super::{B64, Caveat, MasterKey, SCHEMA_VERSION, Token, hmac, signature_bytes};
use crate::domain::time::Timestamp;

/// What to put in a new root token. `agent_lock(subject)` and, when `expires_at` is set,
/// `exp` come first; `caveats` follow in the given order (the reference's mint order).
#[derive(Clone, Debug, Default)]
pub struct TokenClaims {
    pub subject: String,
    /// Empty means `intentgate`.
    pub issuer: String,
    /// Empty means `default`.
    pub tenant: String,
    pub not_before: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub caveats: Vec<Caveat>,
}

/// A token id: 4-byte big-endian unix seconds followed by 12 random bytes, base64url
/// (22 characters). The caller supplies the randomness so this stays pure.
pub fn new_token_id(now: Timestamp, random: [u8; 12]) -> String {
    let secs = u32::try_from(now.unix_seconds()).unwrap_or(0);
    let mut bytes = [0u8; 16];
    bytes[..4].copy_from_slice(&secs.to_be_bytes());
    bytes[4..].copy_from_slice(&random);
    B64.encode(bytes)
}

/// Builds and signs a root token (`root_jti == jti`).
pub fn mint(key: &MasterKey, req: TokenClaims, jti: String, now: Timestamp) -> Token {
    let or_default = |v: String, d: &str| if v.is_empty() { d.to_owned() } else { v };
    let mut cav = vec![Caveat::agent_lock(&req.subject)];
    cav.extend(req.expires_at.map(|t| Caveat::expires_at(t.unix_seconds())));
    cav.extend(req.caveats);
    let mut token = Token {
        v: SCHEMA_VERSION,
        root_jti: jti.clone(),
        jti,
        iss: or_default(req.issuer, "intentgate"),
        tenant: or_default(req.tenant, "default"),
        sub: req.subject,
        iat: now.unix_seconds(),
        nbf: req.not_before.map_or(0, Timestamp::unix_seconds),
        cav,
        sig: String::new(),
    };
    sign(key, &mut token);
    token
}

/// (Re)computes `sig` over the token's current fields and caveats.
pub fn sign(key: &MasterKey, token: &mut Token) {
    token.sig = B64.encode(signature_bytes(key.as_bytes(), token));
}

/// Why a token could not be attenuated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AttenuateError {
    #[error("parent token has no root_jti or tenant")]
    IncompleteParent,
    #[error("parent signature is not valid base64url")]
    BadSignature,
}

/// Appends `caveat` and extends the chain with the parent's signature as key, so the
/// child verifies under the same master key. Every other field is copied verbatim.
pub fn attenuate(parent: &Token, caveat: Caveat) -> Result<Token, AttenuateError> {
    if parent.root_jti.is_empty() || parent.tenant.is_empty() {
        return Err(AttenuateError::IncompleteParent);
    }
    let link = B64
        .decode(&parent.sig)
        .map_err(|_| AttenuateError::BadSignature)?;
    let mut child = parent.clone();
    child.sig = B64.encode(hmac(&link, caveat.canonical_json().as_bytes()));
    child.cav.push(caveat);
    Ok(child)
}

//! Token verification, split into the reference's steps so the pipeline can run the
//! revocation lookup between the signature and the claims:
//! [`check_structure`] → [`verify_signature`] → (revocation) → [`check_claims`].
//! Every failure's `Display` is the reference's exact reason string.

use base64::Engine as _;
use subtle::ConstantTimeEq;

use super::{B64, MasterKey, SCHEMA_VERSION, Token, signature_bytes};
use crate::domain::gojson::go_quote;
use crate::domain::time::Timestamp;

/// Why a capability check failed. All map to JSON-RPC -32010.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CapabilityError {
    #[error("capability token required (INTENTGATE_REQUIRE_CAPABILITY=true)")]
    Required,
    #[error("expected \"Bearer <token>\" Authorization header")]
    BadScheme,
    #[error("token is not valid base64url")]
    NotBase64,
    #[error("token JSON is malformed")]
    MalformedJson,
    #[error("unknown token schema version")]
    UnknownVersion,
    #[error("token id (jti) is required")]
    MissingJti,
    #[error("token subject (sub) is required")]
    MissingSub,
    #[error("token issued-at (iat) is required")]
    MissingIat,
    #[error("token root id (root_jti) is required")]
    MissingRootJti,
    #[error("token tenant is required")]
    MissingTenant,
    #[error("signature is not valid base64url")]
    SignatureNotBase64,
    #[error("signature mismatch")]
    SignatureMismatch,
    #[error("revocation store unavailable; token rejected (fail-closed)")]
    RevocationUnavailable,
    #[error("token revoked")]
    Revoked,
    #[error("token not yet valid (nbf in future)")]
    NotYetValid,
    #[error("caveat {index} ({kind}): {failure}")]
    Caveat {
        index: usize,
        kind: String,
        failure: CaveatFailure,
    },
    /// An OAuth access token that does not verify (not a reference reason: the
    /// reference takes capability tokens only).
    #[error("access token rejected: {0}")]
    AccessToken(crate::domain::oauth::AccessTokenError),
    /// An OAuth access token whose scopes do not open the tool.
    #[error("access token lacks scope {}", go_quote(.0))]
    InsufficientScope(String),
}

/// The inner text of a failed caveat.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CaveatFailure {
    #[error("expiry caveat missing exp value")]
    MissingExp,
    #[error("expired")]
    Expired,
    #[error("agent_lock caveat missing agent value")]
    MissingAgent,
    #[error("token bound to {}, request from {}", go_quote(.bound), go_quote(.request))]
    AgentMismatch { bound: String, request: String },
    #[error("tool {} not in allowed set", go_quote(.0))]
    ToolNotAllowed(String),
    #[error("tool {} is forbidden", go_quote(.0))]
    ToolForbidden(String),
    #[error("step_up caveat has negative step_up_at value")]
    NegativeStepUp,
    #[error("unknown caveat type {} (deny by default)", go_quote(.0))]
    UnknownType(String),
}

/// Required fields, in the reference's order.
pub fn check_structure(token: &Token) -> Result<(), CapabilityError> {
    let missing = [
        (token.v != SCHEMA_VERSION, CapabilityError::UnknownVersion),
        (token.jti.is_empty(), CapabilityError::MissingJti),
        (token.sub.is_empty(), CapabilityError::MissingSub),
        (token.iat == 0, CapabilityError::MissingIat),
        (token.root_jti.is_empty(), CapabilityError::MissingRootJti),
        (token.tenant.is_empty(), CapabilityError::MissingTenant),
    ];
    match missing.into_iter().find(|(failed, _)| *failed) {
        Some((_, err)) => Err(err),
        None => Ok(()),
    }
}

/// Recomputes the HMAC chain over the re-serialized fields and compares it with `sig`
/// in constant time.
pub fn verify_signature(token: &Token, key: &MasterKey) -> Result<(), CapabilityError> {
    let claimed = B64
        .decode(&token.sig)
        .map_err(|_| CapabilityError::SignatureNotBase64)?;
    let expected = signature_bytes(key.as_bytes(), token);
    if bool::from(expected.as_slice().ct_eq(&claimed)) {
        Ok(())
    } else {
        Err(CapabilityError::SignatureMismatch)
    }
}

/// `nbf`, then every caveat in chain order; the first failure wins.
pub fn check_claims(token: &Token, now: Timestamp, tool: &str) -> Result<(), CapabilityError> {
    check_caveats(token, now, tool, |_| true)
}

/// `nbf` and every caveat that does not name tools: whether the token is good at
/// `now` at all. What a caller must pass to use the MCP methods that are not a call.
pub fn check_validity(token: &Token, now: Timestamp) -> Result<(), CapabilityError> {
    check_caveats(token, now, "", |c| !names_tools(c))
}

/// Whether every `tool_allow` and `tool_deny` caveat in the chain lets the token call
/// `tool` (the narrowest of them decides): what `tools/list` shows the caller.
pub fn allows_tool(token: &Token, tool: &str) -> bool {
    token
        .cav
        .iter()
        .filter(|c| names_tools(c))
        .all(|c| check_caveat(c, &token.sub, 0, tool).is_ok())
}

fn names_tools(caveat: &super::Caveat) -> bool {
    matches!(caveat.t.as_str(), "tool_allow" | "tool_deny")
}

fn check_caveats(
    token: &Token,
    now: Timestamp,
    tool: &str,
    applies: impl Fn(&super::Caveat) -> bool,
) -> Result<(), CapabilityError> {
    let now = now.unix_seconds();
    if token.nbf != 0 && now < token.nbf {
        return Err(CapabilityError::NotYetValid);
    }
    for (index, caveat) in token.cav.iter().enumerate().filter(|(_, c)| applies(c)) {
        check_caveat(caveat, &token.sub, now, tool).map_err(|failure| CapabilityError::Caveat {
            index,
            kind: caveat.t.clone(),
            failure,
        })?;
    }
    Ok(())
}

fn check_caveat(
    caveat: &super::Caveat,
    subject: &str,
    now_unix: i64,
    tool: &str,
) -> Result<(), CaveatFailure> {
    let listed = caveat.tools.iter().any(|t| t == tool);
    match caveat.t.as_str() {
        "exp" if caveat.exp == 0 => Err(CaveatFailure::MissingExp),
        "exp" if now_unix >= caveat.exp => Err(CaveatFailure::Expired),
        "agent_lock" if caveat.agent.is_empty() => Err(CaveatFailure::MissingAgent),
        // The reference compares with the token's own subject: there is no
        // request-supplied agent identity.
        "agent_lock" if caveat.agent != subject => Err(CaveatFailure::AgentMismatch {
            bound: caveat.agent.clone(),
            request: subject.to_owned(),
        }),
        "tool_allow" if !listed => Err(CaveatFailure::ToolNotAllowed(tool.to_owned())),
        "tool_deny" if listed => Err(CaveatFailure::ToolForbidden(tool.to_owned())),
        "step_up" if caveat.step_up_at < 0 => Err(CaveatFailure::NegativeStepUp),
        "exp" | "agent_lock" | "tool_allow" | "tool_deny" | "max_calls" | "step_up" => Ok(()),
        other => Err(CaveatFailure::UnknownType(other.to_owned())),
    }
}

/// Every check that needs no store, in the reference order (revocation is skipped):
/// decode, structure, signature, `nbf`, caveats. For tools and tests; the gateway
/// runs the steps itself so it can look up revocations in between.
pub fn verify_offline(
    encoded: &str,
    key: &MasterKey,
    now: Timestamp,
    tool: &str,
) -> Result<Token, CapabilityError> {
    let token = super::decode(encoded)?;
    check_structure(&token)?;
    verify_signature(&token, key)?;
    check_claims(&token, now, tool)?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::token::Caveat;

    fn token(cav: Vec<Caveat>) -> Token {
        Token {
            sub: "agent".into(),
            cav,
            ..Token::default()
        }
    }

    #[test]
    fn every_tool_caveat_in_the_chain_narrows_what_is_listed() {
        let parent = Caveat::tool_allow(vec!["read_invoice".into(), "send_email".into()]);
        let child = Caveat::tool_allow(vec!["read_invoice".into(), "slow_count".into()]);
        let deny = Caveat::tool_deny(vec!["read_invoice".into()]);
        let t = token(vec![parent.clone(), child]);
        assert!(allows_tool(&t, "read_invoice"));
        assert!(!allows_tool(&t, "send_email"), "the child dropped it");
        assert!(!allows_tool(&t, "slow_count"), "the parent never had it");
        assert!(!allows_tool(&token(vec![parent, deny]), "read_invoice"));
        assert!(allows_tool(&token(vec![Caveat::max_calls(1)]), "anything"));
    }

    #[test]
    fn validity_ignores_tool_caveats_but_not_expiry_or_unknown_types() {
        let now = Timestamp::from_unix_seconds(1_000);
        let allow = Caveat::tool_allow(vec!["x".into()]);
        assert_eq!(check_validity(&token(vec![allow.clone()]), now), Ok(()));
        let expired = token(vec![allow, Caveat::expires_at(999)]);
        assert!(check_validity(&expired, now).is_err());
        let unknown = token(vec![Caveat {
            t: "geo_fence".into(),
            ..Caveat::default()
        }]);
        assert!(check_validity(&unknown, now).is_err());
    }
}

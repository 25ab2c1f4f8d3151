//! Token use-cases: minting a root capability token and revoking a token id, each with
//! the audit event the reference writes.

use super::events::{AdminContext, admin_event};
use super::{Caller, admin_now, record_or_log};
use crate::app::{Gateway, RandomnessUnavailable, random_bytes};
use crate::domain::revocation::Revocation;
use crate::domain::time::Timestamp;
use crate::domain::token::{self, Caveat, Token};
use crate::ports::StoreError;

/// Why a token action did not happen.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("subject is required")]
    MissingSubject,
    #[error("ttl_seconds must be >= 0")]
    NegativeTtl,
    #[error("max_calls must be >= 0")]
    NegativeMaxCalls,
    #[error("jti is required")]
    MissingJti,
    /// A tenant admin named another tenant in the request body.
    #[error("tenant in body does not match admin token's tenant")]
    TenantMismatch,
    /// The token is withheld: its minting could not be put on the record.
    #[error("audit log unavailable; token not issued")]
    NotRecorded,
    #[error(transparent)]
    Randomness(#[from] RandomnessUnavailable),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a mint request asks for.
#[derive(Clone, Debug, Default)]
pub struct MintOrder {
    pub subject: String,
    pub issuer: String,
    /// Checked against the caller (empty: the caller's own).
    pub tenant: String,
    /// Seconds until expiry; 0: never.
    pub ttl_seconds: i64,
    /// `tool_allow`; blank names are skipped, none means any tool.
    pub tools: Vec<String>,
    /// 0: no budget.
    pub max_calls: i64,
    pub step_up: bool,
}

/// Mints a root token. It is handed out only once its minting is on the record.
pub async fn mint(
    gateway: &Gateway,
    (ctx, caller): (&AdminContext, &Caller),
    order: MintOrder,
) -> Result<(Token, Option<Timestamp>), TokenError> {
    if order.subject.trim().is_empty() {
        return Err(TokenError::MissingSubject);
    }
    if order.ttl_seconds < 0 {
        return Err(TokenError::NegativeTtl);
    }
    if order.max_calls < 0 {
        return Err(TokenError::NegativeMaxCalls);
    }
    let tenant = caller
        .scope(order.tenant.trim())
        .map_err(|_| TokenError::TenantMismatch)?;
    let now = admin_now(gateway);
    let expires_at = (order.ttl_seconds > 0).then(|| now.plus_seconds(order.ttl_seconds));
    let jti = token::new_token_id(now, random_bytes::<12>()?);
    let request = token::TokenClaims {
        subject: order.subject.clone(),
        issuer: order.issuer.trim().to_owned(),
        tenant,
        not_before: None,
        expires_at,
        caveats: caveats(&order, now),
    };
    let minted = token::mint(&gateway.key, request, jti, now);
    let mut event = admin_event(
        now,
        ctx,
        "allow",
        "capability",
        "admin/mint",
        format!("token minted for subject={}", order.subject),
    );
    event.capability_token_id.clone_from(&minted.jti);
    event.root_capability_token_id.clone_from(&minted.jti);
    event.caveat_count = i64::try_from(minted.cav.len()).unwrap_or(i64::MAX);
    event.tenant.clone_from(&minted.tenant);
    event.agent_id = order.subject;
    gateway.audit.record(event).await.map_err(|e| {
        tracing::error!(error = %e, "mint not recorded; token withheld");
        TokenError::NotRecorded
    })?;
    Ok((minted, expires_at))
}

fn caveats(order: &MintOrder, now: Timestamp) -> Vec<Caveat> {
    let mut caveats = Vec::new();
    let tools: Vec<String> = order
        .tools
        .iter()
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    if !tools.is_empty() {
        caveats.push(Caveat::tool_allow(tools));
    }
    if order.max_calls > 0 {
        caveats.push(Caveat::max_calls(order.max_calls));
    }
    if order.step_up {
        caveats.push(Caveat::step_up(now.unix_seconds()));
    }
    caveats
}

/// Revokes a token id within the caller's tenant (the superadmin's: globally). Returns
/// the trimmed id.
pub async fn revoke(
    gateway: &Gateway,
    (ctx, caller): (&AdminContext, &Caller),
    jti: &str,
    reason: &str,
) -> Result<String, TokenError> {
    let jti = jti.trim();
    if jti.is_empty() {
        return Err(TokenError::MissingJti);
    }
    let now = admin_now(gateway);
    let row = Revocation {
        jti: jti.to_owned(),
        tenant: caller.tenant().to_owned(),
        reason: reason.to_owned(),
        revoked_at: now,
    };
    gateway.stores.revocations.revoke(&row).await?;
    let mut event = admin_event(
        now,
        ctx,
        "block",
        "capability",
        "admin/revoke",
        format!("token revoked: {reason}"),
    );
    event.capability_token_id = jti.to_owned();
    event.tenant = caller.tenant().to_owned();
    record_or_log(gateway, event).await;
    Ok(jti.to_owned())
}

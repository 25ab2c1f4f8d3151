//! Policy use-cases: drafts, a tenant slot's active pointer, promote, clear and
//! rollback. Each is the store calls, the engine swap and the audit event of one admin
//! action; the HTTP layer parses the request and maps the answer.

use super::events::{AdminContext, admin_event};
use super::{Caller, admin_now, record_or_log};
use crate::app::{Gateway, RandomnessUnavailable, random_bytes};
use crate::domain::policy::{ActivePolicy, DraftUpdate, PolicyDraft, new_draft_id};
use crate::domain::time::Timestamp;
use crate::ports::{DeleteDraftOutcome, PromoteOutcome, RollbackOutcome, StoreError};

/// Why a policy action did not happen.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("rego_source is required")]
    MissingSource,
    #[error("rego compile error: {0}")]
    Compile(String),
    #[error("draft_id is required")]
    MissingDraftId,
    /// A tenant admin named another tenant in the request body.
    #[error("tenant in body does not match admin token's tenant")]
    TenantMismatch,
    /// Unknown, or another tenant's.
    #[error("draft not found")]
    DraftNotFound,
    #[error(
        "draft is the current or previous active policy; promote a different draft or \
         rollback first"
    )]
    DraftInUse,
    #[error("no previous policy to roll back to")]
    NothingToRollBack,
    #[error("previous draft is missing from the store (likely deleted)")]
    PreviousDraftMissing,
    /// The store has the new pointer but the running engine kept the old policy.
    #[error("{action} recorded but engine swap failed: {cause}")]
    EngineSwap { action: &'static str, cause: String },
    #[error(transparent)]
    Randomness(#[from] RandomnessUnavailable),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new draft's fields, as requested.
#[derive(Clone, Debug, Default)]
pub struct NewDraft {
    pub name: String,
    pub description: String,
    pub rego_source: String,
    /// Checked against the caller (empty: the caller's own).
    pub tenant: String,
    pub created_by: String,
}

/// What a slot runs: the pointer, the drafts it names, and where its policy comes from
/// (`draft`, `fallback` to the default slot, or the built-in policy's label).
#[derive(Clone, Debug)]
pub struct ActiveSlot {
    pub active: ActivePolicy,
    pub current: Option<PolicyDraft>,
    pub previous: Option<PolicyDraft>,
    pub source: String,
}

/// Stores a new draft once it compiles.
pub async fn create_draft(
    gateway: &Gateway,
    caller: &Caller,
    new: NewDraft,
) -> Result<PolicyDraft, PolicyError> {
    compile_check(gateway, &new.rego_source)?;
    let tenant = scope(caller, &new.tenant)?;
    let now = admin_now(gateway);
    let draft = PolicyDraft {
        id: new_draft_id(random_bytes::<8>()?),
        name: new.name,
        description: new.description,
        rego_source: new.rego_source,
        tenant,
        created_at: now,
        updated_at: now,
        created_by: new.created_by,
    };
    gateway.stores.policies.create_draft(&draft).await?;
    Ok(draft)
}

/// A draft the caller may see: unknown ids and other tenants' drafts are both "not
/// found", so a tenant admin learns nothing about other tenants.
pub async fn owned_draft(
    gateway: &Gateway,
    caller: &Caller,
    id: &str,
) -> Result<PolicyDraft, PolicyError> {
    match gateway.stores.policies.get_draft(id).await? {
        Some(d) if caller.owns(&d.tenant) => Ok(d),
        _ => Err(PolicyError::DraftNotFound),
    }
}

/// Replaces a draft's name, description and source (tenant and creator stay).
pub async fn update_draft(
    gateway: &Gateway,
    caller: &Caller,
    id: &str,
    name: String,
    description: String,
    rego_source: String,
) -> Result<PolicyDraft, PolicyError> {
    owned_draft(gateway, caller, id).await?;
    compile_check(gateway, &rego_source)?;
    let update = DraftUpdate {
        name,
        description,
        rego_source,
        at: admin_now(gateway),
    };
    let updated = gateway.stores.policies.update_draft(id, &update).await?;
    updated.ok_or(PolicyError::DraftNotFound)
}

/// Deletes a draft no slot points at.
pub async fn delete_draft(gateway: &Gateway, caller: &Caller, id: &str) -> Result<(), PolicyError> {
    owned_draft(gateway, caller, id).await?;
    match gateway.stores.policies.delete_draft(id).await? {
        DeleteDraftOutcome::Deleted => Ok(()),
        DeleteDraftOutcome::NotFound => Err(PolicyError::DraftNotFound),
        DeleteDraftOutcome::InUse => Err(PolicyError::DraftInUse),
    }
}

/// The slot as the reference shows it: the pointer decides the source; a draft row that
/// cannot be read is left out.
pub async fn active_slot(gateway: &Gateway, tenant: &str) -> Result<ActiveSlot, PolicyError> {
    let policies = &gateway.stores.policies;
    let active = policies.active(tenant).await?;
    let load = |id: String| async move {
        if id.is_empty() {
            return None;
        }
        policies.get_draft(&id).await.ok().flatten()
    };
    let previous = load(active.previous_draft_id.clone()).await;
    let fallback = match tenant.is_empty() || !active.current_draft_id.is_empty() {
        true => None,
        false => policies.active("").await.ok(),
    };
    let fallback_id = fallback.map(|f| f.current_draft_id).unwrap_or_default();
    let (source, current) = if !active.current_draft_id.is_empty() {
        (
            "draft".to_owned(),
            load(active.current_draft_id.clone()).await,
        )
    } else if !fallback_id.is_empty() {
        ("fallback".to_owned(), load(fallback_id).await)
    } else {
        (gateway.policy_label.clone(), None)
    };
    Ok(ActiveSlot {
        active,
        current,
        previous,
        source,
    })
}

/// Points the requested tenant's slot (a superadmin's `""`: the default) at a draft and
/// swaps the running policy. Returns the slot and when it was promoted.
pub async fn promote(
    gateway: &Gateway,
    (ctx, caller): (&AdminContext, &Caller),
    requested_tenant: &str,
    draft_id: &str,
    promoted_by: &str,
) -> Result<(ActivePolicy, Timestamp), PolicyError> {
    if draft_id.trim().is_empty() {
        return Err(PolicyError::MissingDraftId);
    }
    let tenant = &scope(caller, requested_tenant)?;
    let draft = owned_draft(gateway, caller, draft_id).await?;
    compile_check(gateway, &draft.rego_source)?;
    let writing = gateway.policy_writes.lock().await;
    let now = admin_now(gateway);
    let outcome = gateway
        .stores
        .policies
        .promote(tenant, &draft.id, promoted_by, now)
        .await?;
    let active = match outcome {
        PromoteOutcome::Promoted(a) | PromoteOutcome::Unchanged(a) => a,
        PromoteOutcome::DraftNotFound => return Err(PolicyError::DraftNotFound),
    };
    swap(gateway, "promote", tenant, &draft.rego_source)?;
    drop(writing);
    let reason = format!(
        "policy promoted: tenant={tenant} draft={} prior={} by={promoted_by}",
        draft.id, active.previous_draft_id
    );
    record(gateway, ctx, "admin/promote_policy", tenant, reason).await;
    Ok((active, now))
}

/// Clears a tenant's slot so it falls back to the default policy; for the default slot
/// itself nothing changes and its pointer is returned. True when the engine swapped.
pub async fn clear(
    gateway: &Gateway,
    ctx: &AdminContext,
    tenant: &str,
) -> Result<(ActivePolicy, bool), PolicyError> {
    let policies = &gateway.stores.policies;
    let swapped = !tenant.is_empty();
    let writing = gateway.policy_writes.lock().await;
    let cleared = match swapped {
        true => policies.clear_active(tenant).await?,
        false => policies.active("").await?,
    };
    if swapped {
        gateway.policy.remove(tenant);
    }
    drop(writing);
    let reason = format!("policy slot cleared: tenant={tenant}");
    record(gateway, ctx, "admin/clear_policy", tenant, reason).await;
    Ok((cleared, swapped))
}

/// Moves the requested tenant's slot back to its previous draft (one step) and swaps
/// the running policy.
pub async fn rollback(
    gateway: &Gateway,
    (ctx, caller): (&AdminContext, &Caller),
    requested_tenant: &str,
    rolled_back_by: &str,
) -> Result<ActivePolicy, PolicyError> {
    let tenant = &scope(caller, requested_tenant)?;
    let policies = &gateway.stores.policies;
    let writing = gateway.policy_writes.lock().await;
    let current = policies.active(tenant).await?;
    if current.previous_draft_id.is_empty() {
        return Err(PolicyError::NothingToRollBack);
    }
    let previous = policies
        .get_draft(&current.previous_draft_id)
        .await?
        .ok_or(PolicyError::PreviousDraftMissing)?;
    compile_check(gateway, &previous.rego_source)?;
    let now = admin_now(gateway);
    let active = match policies.rollback(tenant, rolled_back_by, now).await? {
        RollbackOutcome::RolledBack(a) => a,
        RollbackOutcome::NothingToRollBack => return Err(PolicyError::NothingToRollBack),
    };
    swap(gateway, "rollback", tenant, &previous.rego_source)?;
    drop(writing);
    let reason = format!(
        "policy rolled back to: tenant={tenant} draft={} by={rolled_back_by}",
        active.current_draft_id
    );
    record(gateway, ctx, "admin/rollback_policy", tenant, reason).await;
    Ok(active)
}

fn scope(caller: &Caller, requested: &str) -> Result<String, PolicyError> {
    caller
        .scope(requested.trim())
        .map_err(|_| PolicyError::TenantMismatch)
}

fn compile_check(gateway: &Gateway, source: &str) -> Result<(), PolicyError> {
    if source.trim().is_empty() {
        return Err(PolicyError::MissingSource);
    }
    gateway
        .policy
        .compile_check(source)
        .map_err(PolicyError::Compile)
}

fn swap(
    gateway: &Gateway,
    action: &'static str,
    tenant: &str,
    source: &str,
) -> Result<(), PolicyError> {
    gateway
        .policy
        .install(tenant, source)
        .map_err(|cause| PolicyError::EngineSwap { action, cause })
}

async fn record(gateway: &Gateway, ctx: &AdminContext, tool: &str, tenant: &str, reason: String) {
    let mut event = admin_event(admin_now(gateway), ctx, "allow", "policy", tool, reason);
    event.tenant = tenant.to_owned();
    record_or_log(gateway, event).await;
}

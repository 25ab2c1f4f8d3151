//! Policy drafts, the per-tenant active pointer, rollback and dry-run.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};

use super::auth::AdminAuth;
use super::dry_run::dry_run;
use super::dto::{
    ActiveView, ClearResponse, DeleteDraftResponse, DraftJson, DraftRequest, DraftsPage,
    DryRunRequest, DryRunResponse, PromoteRequest, PromoteResponse, RollbackRequest,
    RollbackResponse,
};
use super::errors::{ApiError, api_errors};
use super::params::{body_tenant, page, query_tenant};
use super::tokens::record_or_log;
use super::typed_param::{Limit, Offset, Param, raw};
use crate::adapters::http::api::ApiTags;
use crate::adapters::http::raw::Raw;
use crate::adapters::http::wire::{GoJson, JsonBody, LARGE_BODY, SMALL_BODY};
use crate::app::Gateway;
use crate::app::admin::{AdminContext, Caller, admin_event};
use crate::domain::audit::TenantScope;
use crate::domain::policy::{ActivePolicy, DraftUpdate, PolicyDraft, new_draft_id};
use crate::ports::{DeleteDraftOutcome, PromoteOutcome, RollbackOutcome};

api_errors!(
    /// Errors of the draft listing and active-pointer reads.
    PolicyReadErrors { 400 BadRequest, 401 Unauthorized, 403 Forbidden, 503 Unavailable }
);
api_errors!(
    /// Errors of draft creation.
    DraftCreateErrors { 400 BadRequest, 401 Unauthorized, 403 Forbidden, 503 Unavailable }
);
api_errors!(
    /// Errors of a draft read or update.
    DraftErrors { 400 BadRequest, 401 Unauthorized, 404 NotFound, 503 Unavailable }
);
api_errors!(
    /// Errors of a draft deletion.
    DraftDeleteErrors { 401 Unauthorized, 404 NotFound, 409 Conflict, 503 Unavailable }
);
api_errors!(
    /// Errors of promote and rollback.
    PromoteErrors { 400 BadRequest, 401 Unauthorized, 403 Forbidden, 404 NotFound, 500 Internal, 503 Unavailable }
);
api_errors!(
    /// Errors of a dry-run.
    DryRunErrors { 400 BadRequest, 401 Unauthorized, 403 Forbidden, 503 Unavailable }
);

const DRAFT_NOT_FOUND: &str = "draft not found";

pub struct PoliciesApi;

#[OpenApi(tag = "ApiTags::Policies")]
impl PoliciesApi {
    /// Policy drafts, most recently updated first.
    #[oai(
        path = "/v1/admin/policies/drafts",
        method = "get",
        operation_id = "listDrafts"
    )]
    async fn list_drafts(
        &self,
        auth: AdminAuth,
        gateway: Data<&Arc<Gateway>>,
        tenant: Query<Option<String>>,
        limit: Query<Option<Param<Limit>>>,
        offset: Query<Option<Param<Offset>>>,
    ) -> Result<GoJson<DraftsPage>, PolicyReadErrors> {
        let caller = auth.caller()?;
        let tenant = query_tenant(caller, tenant.as_deref().unwrap_or_default())?;
        let (limit, offset) = page(raw(&limit), raw(&offset))?;
        let scope = TenantScope::from_filter(&tenant);
        let rows = gateway
            .stores
            .policies
            .list_drafts(&scope, limit, offset)
            .await
            .map_err(ApiError::from)?;
        let drafts = rows.iter().map(|d| Raw::new(d.to_json())).collect();
        Ok(GoJson::new(&DraftsPage {
            drafts,
            limit,
            offset,
        }))
    }

    /// Stores a new draft after compiling it.
    #[oai(
        path = "/v1/admin/policies/drafts",
        method = "post",
        operation_id = "createDraft"
    )]
    async fn create_draft(
        &self,
        auth: AdminAuth,
        gateway: Data<&Arc<Gateway>>,
        body: JsonBody<DraftRequest, LARGE_BODY>,
    ) -> Result<CreatedDraft, DraftCreateErrors> {
        Ok(create_draft(&auth, &gateway, &body).await?)
    }

    /// One draft.
    #[oai(
        path = "/v1/admin/policies/drafts/:id",
        method = "get",
        operation_id = "getDraft"
    )]
    async fn get_draft(
        &self,
        auth: AdminAuth,
        gateway: Data<&Arc<Gateway>>,
        id: Path<String>,
    ) -> Result<GoJson<DraftJson>, DraftErrors> {
        let draft = owned_draft(auth.caller()?, &gateway, &id).await?;
        Ok(draft_json(&draft))
    }

    /// Replaces a draft's name, description and source (tenant and creator stay).
    #[oai(
        path = "/v1/admin/policies/drafts/:id",
        method = "put",
        operation_id = "updateDraft"
    )]
    async fn update_draft(
        &self,
        auth: AdminAuth,
        gateway: Data<&Arc<Gateway>>,
        id: Path<String>,
        body: JsonBody<DraftRequest, LARGE_BODY>,
    ) -> Result<GoJson<DraftJson>, DraftErrors> {
        owned_draft(auth.caller()?, &gateway, &id).await?;
        let req = body.decode("invalid JSON: ")?;
        compile_check(&gateway, &req.rego_source)?;
        let update = DraftUpdate {
            name: req.name.unwrap_or_default(),
            description: req.description.unwrap_or_default(),
            rego_source: req.rego_source,
            at: super::now(&gateway),
        };
        let updated = gateway
            .stores
            .policies
            .update_draft(&id, &update)
            .await
            .map_err(ApiError::from)?;
        let updated = updated.ok_or_else(|| ApiError::NotFound(DRAFT_NOT_FOUND.into()))?;
        Ok(draft_json(&updated))
    }

    /// Deletes a draft that no tenant's active pointer references.
    #[oai(
        path = "/v1/admin/policies/drafts/:id",
        method = "delete",
        operation_id = "deleteDraft"
    )]
    async fn delete_draft(
        &self,
        auth: AdminAuth,
        gateway: Data<&Arc<Gateway>>,
        id: Path<String>,
    ) -> Result<GoJson<DeleteDraftResponse>, DraftDeleteErrors> {
        owned_draft(auth.caller()?, &gateway, &id).await?;
        let outcome = gateway.stores.policies.delete_draft(&id).await;
        match outcome.map_err(ApiError::from)? {
            DeleteDraftOutcome::Deleted => {
                Ok(GoJson::new(&DeleteDraftResponse { id: id.0, ok: true }))
            }
            DeleteDraftOutcome::NotFound => Err(ApiError::NotFound(DRAFT_NOT_FOUND.into()).into()),
            DeleteDraftOutcome::InUse => Err(ApiError::Conflict(
                "draft is the current or previous active policy; promote a different draft or \
                 rollback first"
                    .into(),
            )
            .into()),
        }
    }

    /// A tenant slot's active pointer and the policy it runs (`source`).
    #[oai(
        path = "/v1/admin/policies/active",
        method = "get",
        operation_id = "getActivePolicy"
    )]
    async fn get_active(
        &self,
        auth: AdminAuth,
        gateway: Data<&Arc<Gateway>>,
        tenant: Query<Option<String>>,
    ) -> Result<GoJson<ActiveView>, PolicyReadErrors> {
        let caller = auth.caller()?;
        let tenant = query_tenant(caller, tenant.as_deref().unwrap_or_default())?;
        Ok(GoJson::new(&active_view(&gateway, &tenant).await?))
    }

    /// Promotes a draft into a tenant slot (`""`: the default every tenant falls back
    /// to) and hot-swaps the running policy.
    #[oai(
        path = "/v1/admin/policies/active",
        method = "post",
        operation_id = "promotePolicy"
    )]
    async fn promote(
        &self,
        auth: AdminAuth,
        gateway: Data<&Arc<Gateway>>,
        body: JsonBody<PromoteRequest>,
    ) -> Result<GoJson<PromoteResponse>, PromoteErrors> {
        Ok(promote(&auth, &gateway, &body).await?)
    }

    /// Clears a tenant's slot so it falls back to the default policy.
    #[oai(
        path = "/v1/admin/policies/active",
        method = "delete",
        operation_id = "clearActivePolicy"
    )]
    async fn clear(
        &self,
        auth: AdminAuth,
        gateway: Data<&Arc<Gateway>>,
        tenant: Query<Option<String>>,
    ) -> Result<GoJson<ClearResponse>, PolicyReadErrors> {
        let caller = auth.caller()?;
        let tenant = query_tenant(caller, tenant.as_deref().unwrap_or_default().trim())?;
        let policies = &gateway.stores.policies;
        let cleared = if tenant.is_empty() {
            policies.active("").await
        } else {
            policies.clear_active(&tenant).await
        }
        .map_err(ApiError::from)?;
        if !tenant.is_empty() {
            gateway.policy.remove(&tenant);
        }
        let reason = format!("policy slot cleared: tenant={tenant}");
        emit_policy_event(
            &gateway,
            &auth.context,
            "admin/clear_policy",
            &tenant,
            reason,
        )
        .await;
        Ok(GoJson::new(&ClearResponse {
            cleared: Raw::new(cleared.to_json()),
            swapped: !tenant.is_empty(),
        }))
    }

    /// Moves a slot back to its previous draft (one step).
    #[oai(
        path = "/v1/admin/policies/rollback",
        method = "post",
        operation_id = "rollbackPolicy"
    )]
    async fn rollback(
        &self,
        auth: AdminAuth,
        gateway: Data<&Arc<Gateway>>,
        body: JsonBody<RollbackRequest, { SMALL_BODY }, false>,
    ) -> Result<GoJson<RollbackResponse>, PromoteErrors> {
        Ok(rollback(&auth, &gateway, &body).await?)
    }

    /// Replays recorded calls through a candidate policy and reports what would change.
    #[oai(
        path = "/v1/admin/policies/dry-run",
        method = "post",
        operation_id = "dryRunPolicy"
    )]
    async fn dry_run(
        &self,
        auth: AdminAuth,
        gateway: Data<&Arc<Gateway>>,
        body: JsonBody<DryRunRequest, LARGE_BODY>,
    ) -> Result<GoJson<DryRunResponse>, DryRunErrors> {
        Ok(GoJson::new(
            &dry_run(auth.caller()?, &gateway, &body).await?,
        ))
    }
}

#[derive(poem_openapi::ApiResponse)]
pub enum CreatedDraft {
    #[oai(status = 201)]
    Created(GoJson<DraftJson>),
}

fn draft_json(d: &PolicyDraft) -> GoJson<DraftJson> {
    GoJson::raw(format!("{}\n", d.to_json()))
}

/// A draft the caller may see: 404 for unknown ids and for other tenants' drafts.
async fn owned_draft(
    caller: &Caller,
    gateway: &Gateway,
    id: &str,
) -> Result<PolicyDraft, ApiError> {
    match gateway.stores.policies.get_draft(id).await? {
        Some(d) if caller.owns(&d.tenant) => Ok(d),
        _ => Err(ApiError::NotFound(DRAFT_NOT_FOUND.into())),
    }
}

fn compile_check(gateway: &Gateway, source: &str) -> Result<(), ApiError> {
    if source.trim().is_empty() {
        return Err(ApiError::BadRequest("rego_source is required".into()));
    }
    gateway
        .policy
        .compile_check(source)
        .map_err(|e| ApiError::BadRequest(format!("rego compile error: {e}")))
}

async fn create_draft(
    auth: &AdminAuth,
    gateway: &Gateway,
    body: &JsonBody<DraftRequest, LARGE_BODY>,
) -> Result<CreatedDraft, ApiError> {
    let caller = auth.caller()?;
    let req = body.decode("invalid JSON: ")?;
    compile_check(gateway, &req.rego_source)?;
    let tenant = body_tenant(caller, req.tenant.as_deref().unwrap_or_default().trim())?;
    let now = super::now(gateway);
    let draft = PolicyDraft {
        id: new_draft_id(super::random_id_bytes::<8>()?),
        name: req.name.unwrap_or_default(),
        description: req.description.unwrap_or_default(),
        rego_source: req.rego_source,
        tenant,
        created_at: now,
        updated_at: now,
        created_by: req.created_by.unwrap_or_default(),
    };
    gateway.stores.policies.create_draft(&draft).await?;
    Ok(CreatedDraft::Created(
        draft_json(&draft).with_status(StatusCode::CREATED),
    ))
}

/// The slot, the drafts it names, and what it runs (`source`), as the reference
/// computes them: the pointer decides the source; a draft row that cannot be read is
/// simply left out.
async fn active_view(gateway: &Gateway, tenant: &str) -> Result<ActiveView, ApiError> {
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
    Ok(ActiveView {
        active: Raw::new(active.to_json()),
        current_draft: current.map(|d| Raw::new(d.to_json())),
        previous_draft: previous.map(|d| Raw::new(d.to_json())),
        source,
    })
}

async fn promote(
    auth: &AdminAuth,
    gateway: &Gateway,
    body: &JsonBody<PromoteRequest>,
) -> Result<GoJson<PromoteResponse>, ApiError> {
    let caller = auth.caller()?;
    let req = body.decode("invalid JSON: ")?;
    if req.draft_id.trim().is_empty() {
        return Err(ApiError::BadRequest("draft_id is required".into()));
    }
    let tenant = body_tenant(caller, req.tenant.as_deref().unwrap_or_default().trim())?;
    let draft = owned_draft(caller, gateway, &req.draft_id).await?;
    let promoted_by = req.promoted_by.as_deref().unwrap_or_default();
    compile_check(gateway, &draft.rego_source)?;
    let now = super::now(gateway);
    let outcome = gateway
        .stores
        .policies
        .promote(&tenant, &draft.id, promoted_by, now)
        .await?;
    let active = match outcome {
        PromoteOutcome::Promoted(a) | PromoteOutcome::Unchanged(a) => a,
        PromoteOutcome::DraftNotFound => return Err(ApiError::NotFound(DRAFT_NOT_FOUND.into())),
    };
    gateway
        .policy
        .install(&tenant, &draft.rego_source)
        .map_err(|e| ApiError::Internal(format!("promote recorded but engine swap failed: {e}")))?;
    let reason = format!(
        "policy promoted: tenant={tenant} draft={} prior={} by={}",
        draft.id, active.previous_draft_id, promoted_by
    );
    emit_policy_event(
        gateway,
        &auth.context,
        "admin/promote_policy",
        &tenant,
        reason,
    )
    .await;
    Ok(GoJson::new(&PromoteResponse {
        active: Raw::new(active.to_json()),
        promoted_at: crate::domain::time::Timestamp::from_unix_seconds(now.unix_seconds())
            .to_rfc3339_nano(),
        swapped: true,
    }))
}

async fn rollback(
    auth: &AdminAuth,
    gateway: &Gateway,
    body: &JsonBody<RollbackRequest, { SMALL_BODY }, false>,
) -> Result<GoJson<RollbackResponse>, ApiError> {
    let caller = auth.caller()?;
    // The body is optional. The reference ignored any body it could not read; the
    // document says what one holds, so a body that is there must say it.
    let req = match body.is_empty() {
        true => RollbackRequest::default(),
        false => body.decode("invalid JSON: ")?,
    };
    let rolled_back_by = req.rolled_back_by.unwrap_or_default();
    let tenant = req.tenant.unwrap_or_default();
    let tenant = body_tenant(caller, tenant.trim())?;
    let nothing = || ApiError::NotFound("no previous policy to roll back to".into());
    let policies = &gateway.stores.policies;
    let current = policies.active(&tenant).await?;
    if current.previous_draft_id.is_empty() {
        return Err(nothing());
    }
    let previous = policies
        .get_draft(&current.previous_draft_id)
        .await?
        .ok_or_else(|| {
            ApiError::Unavailable(
                "previous draft is missing from the store (likely deleted)".into(),
            )
        })?;
    compile_check(gateway, &previous.rego_source)?;
    let now = super::now(gateway);
    let active: ActivePolicy = match policies.rollback(&tenant, &rolled_back_by, now).await? {
        RollbackOutcome::RolledBack(a) => a,
        RollbackOutcome::NothingToRollBack => return Err(nothing()),
    };
    gateway
        .policy
        .install(&tenant, &previous.rego_source)
        .map_err(|e| {
            ApiError::Internal(format!("rollback recorded but engine swap failed: {e}"))
        })?;
    let reason = format!(
        "policy rolled back to: tenant={tenant} draft={} by={}",
        active.current_draft_id, rolled_back_by
    );
    emit_policy_event(
        gateway,
        &auth.context,
        "admin/rollback_policy",
        &tenant,
        reason,
    )
    .await;
    Ok(GoJson::new(&RollbackResponse {
        active: Raw::new(active.to_json()),
        swapped: true,
    }))
}

async fn emit_policy_event(
    gateway: &Gateway,
    ctx: &AdminContext,
    tool: &str,
    tenant: &str,
    reason: String,
) {
    let mut event = admin_event(super::now(gateway), ctx, "allow", "policy", tool, reason);
    event.tenant = tenant.to_owned();
    record_or_log(gateway, event).await;
}

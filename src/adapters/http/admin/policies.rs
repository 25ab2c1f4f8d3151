//! Policy drafts, the per-tenant active pointer, rollback and dry-run.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};

use super::auth::AdminAuth;
use super::dry_run::dry_run;
use super::dto::{
    ActivePolicyResponse, ClearResponse, DeleteDraftResponse, Draft, DraftRequest, DraftsPage,
    DryRunRequest, DryRunResponse, PromoteRequest, PromoteResponse, RollbackRequest,
    RollbackResponse,
};
use super::errors::{ApiError, api_errors};
use super::json_body::{JsonBody, LARGE_BODY, SMALL_BODY};
use super::params::{page, query_tenant};
use super::typed_param::{Limit, Offset, Param, raw};
use crate::adapters::http::encoded::Encoded;
use crate::adapters::http::tags::ApiTags;
use crate::adapters::http::wire::GoJson;
use crate::app::Gateway;
use crate::app::admin::policies::{self, NewDraft};
use crate::domain::policy::PolicyDraft;
use crate::domain::tenant::TenantScope;
use crate::domain::time::Timestamp;

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
        let drafts = rows.iter().map(|d| Encoded::new(d.to_json())).collect();
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
        let caller = auth.caller()?;
        let req = body.decode("invalid JSON: ")?;
        let new = NewDraft {
            name: req.name.unwrap_or_default(),
            description: req.description.unwrap_or_default(),
            rego_source: req.rego_source,
            tenant: req.tenant.unwrap_or_default(),
            created_by: req.created_by.unwrap_or_default(),
        };
        let draft = policies::create_draft(&gateway, caller, new)
            .await
            .map_err(ApiError::from)?;
        Ok(CreatedDraft::Created(
            draft_json(&draft).with_status(StatusCode::CREATED),
        ))
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
    ) -> Result<GoJson<Encoded<Draft>>, DraftErrors> {
        let draft = policies::owned_draft(&gateway, auth.caller()?, &id)
            .await
            .map_err(ApiError::from)?;
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
    ) -> Result<GoJson<Encoded<Draft>>, DraftErrors> {
        let caller = auth.caller()?;
        policies::owned_draft(&gateway, caller, &id)
            .await
            .map_err(ApiError::from)?;
        let req = body.decode("invalid JSON: ")?;
        let (name, description) = (req.name, req.description);
        let updated = policies::update_draft(
            &gateway,
            caller,
            &id,
            name.unwrap_or_default(),
            description.unwrap_or_default(),
            req.rego_source,
        )
        .await
        .map_err(ApiError::from)?;
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
        policies::delete_draft(&gateway, auth.caller()?, &id)
            .await
            .map_err(ApiError::from)?;
        Ok(GoJson::new(&DeleteDraftResponse { id: id.0, ok: true }))
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
    ) -> Result<GoJson<ActivePolicyResponse>, PolicyReadErrors> {
        let caller = auth.caller()?;
        let tenant = query_tenant(caller, tenant.as_deref().unwrap_or_default())?;
        let slot = policies::active_slot(&gateway, &tenant)
            .await
            .map_err(ApiError::from)?;
        Ok(GoJson::new(&ActivePolicyResponse {
            active: Encoded::new(slot.active.to_json()),
            current_draft: slot.current.map(|d| Encoded::new(d.to_json())),
            previous_draft: slot.previous.map(|d| Encoded::new(d.to_json())),
            source: slot.source,
        }))
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
        let caller = auth.caller()?;
        let req = body.decode("invalid JSON: ")?;
        let tenant = req.tenant.unwrap_or_default();
        let by = req.promoted_by.unwrap_or_default();
        let (active, at) = policies::promote(
            &gateway,
            (&auth.context, caller),
            &tenant,
            &req.draft_id,
            &by,
        )
        .await
        .map_err(ApiError::from)?;
        Ok(GoJson::new(&PromoteResponse {
            active: Encoded::new(active.to_json()),
            promoted_at: Timestamp::from_unix_seconds(at.unix_seconds()).to_rfc3339_nano(),
            swapped: true,
        }))
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
        let (cleared, swapped) = policies::clear(&gateway, &auth.context, &tenant)
            .await
            .map_err(ApiError::from)?;
        Ok(GoJson::new(&ClearResponse {
            cleared: Encoded::new(cleared.to_json()),
            swapped,
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
        let caller = auth.caller()?;
        // The body is optional. The reference ignored any body it could not read; the
        // document says what one holds, so a body that is there must say it.
        let req = match body.is_empty() {
            true => RollbackRequest::default(),
            false => body.decode("invalid JSON: ")?,
        };
        let tenant = req.tenant.unwrap_or_default();
        let by = req.rolled_back_by.unwrap_or_default();
        let active = policies::rollback(&gateway, (&auth.context, caller), &tenant, &by)
            .await
            .map_err(ApiError::from)?;
        Ok(GoJson::new(&RollbackResponse {
            active: Encoded::new(active.to_json()),
            swapped: true,
        }))
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
    Created(GoJson<Encoded<Draft>>),
}

fn draft_json(d: &PolicyDraft) -> GoJson<Encoded<Draft>> {
    GoJson::encoded(format!("{}\n", d.to_json()))
}

//! Approvals: list and decide. A decision goes through the approval gate so the
//! waiting call on this replica wakes at once.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};

use super::auth::AdminAuth;
use super::dto::{ApprovalsPage, DecideRequest, PendingRequest};
use super::errors::{ApiError, api_errors};
use super::json_body::JsonBody;
use super::params::{one_of, page};
use super::typed_param::{ApprovalStatusParam, Limit, Offset, Param, STATUSES, raw};
use crate::adapters::http::encoded::Encoded;
use crate::adapters::http::tags::ApiTags;
use crate::adapters::http::wire::GoJson;
use crate::app::Gateway;
use crate::app::admin::approvals::{self, DecideError};
use crate::domain::approval::{ApprovalStatus, ApprovalVerdict};
use crate::domain::tenant::TenantScope;
use crate::ports::ApprovalFilter;

api_errors!(
    /// Errors of `GET /v1/admin/approvals`.
    ApprovalListErrors { 400 BadRequest, 401 Unauthorized, 503 Unavailable }
);
api_errors!(
    /// Errors of a decision. The 409 body also carries the row as it now is
    /// (`current`).
    DecideErrors { 400 BadRequest, 401 Unauthorized, 404 NotFound, 409 Conflict, 503 Unavailable }
);

pub struct ApprovalsApi;

#[OpenApi(tag = "ApiTags::Approvals")]
impl ApprovalsApi {
    /// Escalated calls, newest first; `status` is `pending`, `approved`, `rejected` or
    /// `timeout` (empty for all).
    #[oai(
        path = "/v1/admin/approvals",
        method = "get",
        operation_id = "listApprovals"
    )]
    async fn list(
        &self,
        auth: AdminAuth,
        gateway: Data<&Arc<Gateway>>,
        status: Query<Option<Param<ApprovalStatusParam>>>,
        limit: Query<Option<Param<Limit>>>,
        offset: Query<Option<Param<Offset>>>,
    ) -> Result<GoJson<ApprovalsPage>, ApprovalListErrors> {
        let caller = auth.caller()?;
        let gate = approvals::gate(&gateway).map_err(ApiError::from)?;
        let (limit, offset) = page(raw(&limit), raw(&offset))?;
        let wanted = one_of(raw(&status), "status", STATUSES)?;
        let status = wanted.as_deref().and_then(ApprovalStatus::parse);
        let tenant = if caller.is_superadmin() {
            TenantScope::All
        } else {
            TenantScope::Only(caller.tenant().to_owned())
        };
        let filter = ApprovalFilter { tenant, status };
        let rows = gate
            .store()
            .list(&filter, limit, offset)
            .await
            .map_err(ApiError::from)?;
        let approvals = rows.iter().map(|a| Encoded::new(a.to_json())).collect();
        Ok(GoJson::new(&ApprovalsPage {
            approvals,
            limit,
            offset,
        }))
    }

    /// Approve or reject a pending call.
    #[oai(
        path = "/v1/admin/approvals/:id/decide",
        method = "post",
        operation_id = "decideApproval"
    )]
    async fn decide(
        &self,
        auth: AdminAuth,
        gateway: Data<&Arc<Gateway>>,
        id: Path<String>,
        body: JsonBody<DecideRequest>,
    ) -> Result<GoJson<Encoded<PendingRequest>>, DecideErrors> {
        let caller = auth.caller()?;
        approvals::gate(&gateway).map_err(ApiError::from)?;
        if id.is_empty() {
            return Err(ApiError::from(DecideError::MissingId).into());
        }
        let req = body.decode("invalid JSON: ")?;
        let verdict = ApprovalVerdict::parse_admin(&req.decision.0).ok_or_else(|| {
            ApiError::BadRequest("decision must be \"approve\" or \"reject\"".into())
        })?;
        let by = (
            req.decided_by.unwrap_or_default(),
            req.note.unwrap_or_default(),
        );
        let row = approvals::decide(&gateway, caller, &id, verdict, by)
            .await
            .map_err(ApiError::from)?;
        Ok(GoJson::encoded(format!("{}\n", row.to_json())))
    }
}

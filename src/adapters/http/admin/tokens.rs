//! Capability tokens: mint, revoke and the list of revoked token ids.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::Query;

use super::auth::AdminAuth;
use super::dto::{MintRequest, MintResponse, RevocationsPage, RevokeRequest, RevokeResponse};
use super::errors::{ApiError, api_errors};
use super::json_body::JsonBody;
use super::params::page;
use super::typed_param::{Limit, Offset, Param, raw};
use crate::adapters::http::tags::ApiTags;
use crate::adapters::http::wire::GoJson;
use crate::app::Gateway;
use crate::app::admin::tokens::{self, MintOrder};
use crate::domain::tenant::TenantScope;
use crate::domain::time::Timestamp;

api_errors!(
    /// Errors of `POST /v1/admin/mint`.
    MintErrors { 400 BadRequest, 401 Unauthorized, 403 Forbidden, 500 Internal, 503 Unavailable }
);
api_errors!(
    /// Errors of `POST /v1/admin/revoke`.
    RevokeErrors { 400 BadRequest, 401 Unauthorized, 503 Unavailable }
);
api_errors!(
    /// Errors of a paged listing (a `limit` or `offset` that is not an integer).
    PagedListErrors { 400 BadRequest, 401 Unauthorized, 503 Unavailable }
);

pub struct TokensApi;

#[OpenApi(tag = "ApiTags::Tokens")]
impl TokensApi {
    /// Mint a root capability token.
    #[oai(path = "/v1/admin/mint", method = "post", operation_id = "mintToken")]
    async fn mint(
        &self,
        auth: AdminAuth,
        gateway: Data<&Arc<Gateway>>,
        body: JsonBody<MintRequest>,
    ) -> Result<GoJson<MintResponse>, MintErrors> {
        let caller = auth.caller()?;
        let req: MintRequest = body.decode("invalid JSON: ")?;
        let order = MintOrder {
            subject: req.subject.clone(),
            issuer: req.issuer.unwrap_or_default(),
            tenant: req.tenant.unwrap_or_default(),
            ttl_seconds: req.ttl_seconds.unwrap_or(0),
            tools: req.tools.unwrap_or_default(),
            max_calls: req.max_calls.unwrap_or(0),
            step_up: req.step_up.unwrap_or(false),
        };
        let (minted, expires_at) = tokens::mint(&gateway, (&auth.context, caller), order)
            .await
            .map_err(ApiError::from)?;
        Ok(GoJson::new(&MintResponse {
            expires_at: expires_at
                .map(|t| Timestamp::from_unix_seconds(t.unix_seconds()).to_rfc3339_nano())
                .unwrap_or_default(),
            jti: minted.jti.clone(),
            subject: req.subject,
            token: minted.encode(),
        }))
    }

    /// Revoke a token id (tenant admins revoke within their tenant; the superadmin
    /// revokes globally).
    #[oai(
        path = "/v1/admin/revoke",
        method = "post",
        operation_id = "revokeToken"
    )]
    async fn revoke(
        &self,
        auth: AdminAuth,
        gateway: Data<&Arc<Gateway>>,
        body: JsonBody<RevokeRequest>,
    ) -> Result<GoJson<RevokeResponse>, RevokeErrors> {
        let caller = auth.caller()?;
        let req = body.decode("invalid JSON: ")?;
        let reason = req.reason.unwrap_or_default();
        let jti = tokens::revoke(&gateway, (&auth.context, caller), &req.jti, &reason)
            .await
            .map_err(ApiError::from)?;
        Ok(GoJson::new(&RevokeResponse { jti, ok: true }))
    }

    /// Revoked token ids, newest first.
    #[oai(
        path = "/v1/admin/revocations",
        method = "get",
        operation_id = "listRevocations"
    )]
    async fn revocations(
        &self,
        auth: AdminAuth,
        gateway: Data<&Arc<Gateway>>,
        limit: Query<Option<Param<Limit>>>,
        offset: Query<Option<Param<Offset>>>,
    ) -> Result<GoJson<RevocationsPage>, PagedListErrors> {
        let caller = auth.caller()?;
        let (limit, offset) = page(raw(&limit), raw(&offset))?;
        let scope = if caller.is_superadmin() {
            TenantScope::All
        } else {
            TenantScope::Only(caller.tenant().to_owned())
        };
        let rows = gateway
            .stores
            .revocations
            .list(&scope, limit, offset)
            .await
            .map_err(ApiError::from)?;
        let revocations = rows.into_iter().map(Into::into).collect();
        Ok(GoJson::new(&RevocationsPage {
            limit,
            offset,
            revocations,
        }))
    }
}

//! Tokens and tenants: mint, revoke, revocations, tenants, integrations.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::Query;

use super::auth::AdminAuth;
use super::dto::{
    IntegrationStatus, IntegrationsResponse, MintRequest, MintResponse, RevocationDto,
    RevocationsPage, RevokeRequest, RevokeResponse, TenantDto, TenantsResponse, non_empty,
};
use super::errors::{ApiError, api_errors};
use super::params::{body_tenant, page};
use super::record;
use super::typed_param::{Limit, Offset, Param, raw};
use crate::adapters::http::api::ApiTags;
use crate::adapters::http::wire::{GoJson, JsonBody};
use crate::app::Gateway;
use crate::app::admin::admin_event;
use crate::domain::audit::TenantScope;
use crate::domain::revocation::Revocation;
use crate::domain::time::Timestamp;
use crate::domain::token::{self, Caveat};
use crate::ports::SinkStatus;

api_errors!(
    /// Errors of `POST /v1/admin/mint`.
    MintErrors { 400 BadRequest, 401 Unauthorized, 403 Forbidden, 500 Internal, 503 Unavailable }
);
api_errors!(
    /// Errors of `POST /v1/admin/revoke`.
    RevokeErrors { 400 BadRequest, 401 Unauthorized, 503 Unavailable }
);
api_errors!(
    /// Errors of the read-only listings.
    ListErrors { 401 Unauthorized, 503 Unavailable }
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
        Ok(mint(&auth, &gateway, &body).await?)
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
        Ok(revoke(&auth, &gateway, &body).await?)
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
        let revocations = rows.into_iter().map(revocation_dto).collect();
        Ok(GoJson::new(&RevocationsPage {
            limit,
            offset,
            revocations,
        }))
    }

    /// Tenants that have an admin token.
    #[oai(
        path = "/v1/admin/tenants",
        method = "get",
        operation_id = "listTenants"
    )]
    async fn tenants(
        &self,
        auth: AdminAuth,
        gateway: Data<&Arc<Gateway>>,
    ) -> Result<GoJson<TenantsResponse>, ListErrors> {
        let caller = auth.caller()?;
        let ids = if caller.is_superadmin() {
            gateway.admin.tenant_ids()
        } else {
            vec![caller.tenant().to_owned()]
        };
        let tenants = ids
            .into_iter()
            .map(|id| TenantDto {
                id,
                has_admin: true,
            })
            .collect();
        Ok(GoJson::new(&TenantsResponse { tenants }))
    }

    /// SIEM forwarder status (superadmin only).
    #[oai(
        path = "/v1/admin/integrations",
        method = "get",
        operation_id = "listIntegrations"
    )]
    async fn integrations(
        &self,
        auth: AdminAuth,
        gateway: Data<&Arc<Gateway>>,
    ) -> Result<GoJson<IntegrationsResponse>, ListErrors> {
        if !auth.caller()?.is_superadmin() {
            return Err(ApiError::Unauthorized.into());
        }
        let live = gateway.audit.sink_status();
        // Always exactly these three, as the reference: a configured webhook is not
        // listed (clients may rely on the fixed list); its losses are metrics.
        let integrations: Vec<IntegrationStatus> = ["splunk", "datadog", "sentinel"]
            .into_iter()
            .map(|name| match live.iter().find(|s| s.name == name) {
                Some(s) => integration(s),
                None => unconfigured(name),
            })
            .collect();
        Ok(GoJson::new(&IntegrationsResponse { integrations }))
    }
}

/// Go's zero time, which the reference prints when nothing was flushed yet.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn unconfigured(name: &str) -> IntegrationStatus {
    IntegrationStatus {
        name: name.to_owned(),
        configured: false,
        endpoint: None,
        last_flush_ts: ZERO_TIME.to_owned(),
        total_events: 0,
        dropped_count: 0,
        last_error: None,
    }
}

fn integration(s: &SinkStatus) -> IntegrationStatus {
    IntegrationStatus {
        name: s.name.to_owned(),
        configured: true,
        endpoint: non_empty(s.endpoint.clone()),
        last_flush_ts: s
            .last_flush
            .map_or_else(|| ZERO_TIME.to_owned(), |t| t.to_rfc3339_nano()),
        total_events: s.total_events,
        dropped_count: s.dropped_count,
        last_error: non_empty(s.last_error.clone()),
    }
}

fn revocation_dto(r: Revocation) -> RevocationDto {
    RevocationDto {
        jti: r.jti,
        revoked_at: r.revoked_at.to_rfc3339_nano(),
        reason: non_empty(r.reason),
        tenant: non_empty(r.tenant),
    }
}

async fn mint(
    auth: &AdminAuth,
    gateway: &Gateway,
    body: &JsonBody<MintRequest>,
) -> Result<GoJson<MintResponse>, ApiError> {
    let caller = auth.caller()?;
    let req: MintRequest = body.decode("invalid JSON: ")?;
    let (ttl_seconds, max_calls) = (req.ttl_seconds.unwrap_or(0), req.max_calls.unwrap_or(0));
    if req.subject.trim().is_empty() {
        return Err(ApiError::BadRequest("subject is required".into()));
    }
    if ttl_seconds < 0 {
        return Err(ApiError::BadRequest("ttl_seconds must be >= 0".into()));
    }
    if max_calls < 0 {
        return Err(ApiError::BadRequest("max_calls must be >= 0".into()));
    }
    let tenant = body_tenant(caller, req.tenant.as_deref().unwrap_or_default().trim())?;
    let now = super::now(gateway);
    let expires_at = (ttl_seconds > 0).then(|| now.plus_seconds(ttl_seconds));
    let mut caveats = Vec::new();
    let tools: Vec<String> = req
        .tools
        .iter()
        .flatten()
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    if !tools.is_empty() {
        caveats.push(Caveat::tool_allow(tools));
    }
    if max_calls > 0 {
        caveats.push(Caveat::max_calls(max_calls));
    }
    if req.step_up.unwrap_or(false) {
        caveats.push(Caveat::step_up(now.unix_seconds()));
    }
    let jti = token::new_token_id(now, super::random_id_bytes::<12>()?);
    let minted = token::mint(
        &gateway.key,
        token::MintRequest {
            subject: req.subject.clone(),
            issuer: req.issuer.as_deref().unwrap_or_default().trim().to_owned(),
            tenant,
            not_before: None,
            expires_at,
            caveats,
        },
        jti,
        now,
    );
    let mut event = admin_event(
        now,
        &auth.context,
        "allow",
        "capability",
        "admin/mint",
        format!("token minted for subject={}", req.subject),
    );
    event.capability_token_id.clone_from(&minted.jti);
    event.root_capability_token_id.clone_from(&minted.jti);
    event.caveat_count = i64::try_from(minted.cav.len()).unwrap_or(i64::MAX);
    event.tenant.clone_from(&minted.tenant);
    event.agent_id.clone_from(&req.subject);
    // The token is handed out only once its minting is on the record.
    record(gateway, event).await.map_err(|e| {
        tracing::error!(error = %e, "mint not recorded; token withheld");
        ApiError::Unavailable("audit log unavailable; token not issued".into())
    })?;
    Ok(GoJson::new(&MintResponse {
        expires_at: expires_at
            .map(|t| Timestamp::from_unix_seconds(t.unix_seconds()).to_rfc3339_nano())
            .unwrap_or_default(),
        jti: minted.jti.clone(),
        subject: req.subject,
        token: minted.encode(),
    }))
}

async fn revoke(
    auth: &AdminAuth,
    gateway: &Gateway,
    body: &JsonBody<RevokeRequest>,
) -> Result<GoJson<RevokeResponse>, ApiError> {
    let caller = auth.caller()?;
    let req = body.decode("invalid JSON: ")?;
    let jti = req.jti.trim();
    if jti.is_empty() {
        return Err(ApiError::BadRequest("jti is required".into()));
    }
    let now = super::now(gateway);
    let row = Revocation {
        jti: jti.to_owned(),
        tenant: caller.tenant().to_owned(),
        reason: req.reason.clone().unwrap_or_default(),
        revoked_at: now,
    };
    gateway.stores.revocations.revoke(&row).await?;
    let mut event = admin_event(
        now,
        &auth.context,
        "block",
        "capability",
        "admin/revoke",
        format!("token revoked: {}", req.reason.unwrap_or_default()),
    );
    event.capability_token_id = jti.to_owned();
    event.tenant = caller.tenant().to_owned();
    record_or_log(gateway, event).await;
    Ok(GoJson::new(&RevokeResponse {
        jti: jti.to_owned(),
        ok: true,
    }))
}

/// Records an admin event after the action took effect; a failure is logged, since
/// the change itself cannot be undone.
pub(super) async fn record_or_log(gateway: &Gateway, event: crate::domain::audit::AuditEvent) {
    let tool = event.tool.clone();
    if let Err(e) = record(gateway, event).await {
        tracing::error!(error = %e, tool, "admin audit event not recorded");
    }
}

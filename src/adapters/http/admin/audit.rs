//! Audit: query, chain verification and export, served from the audit port so they
//! work on every backend.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::Query;

use super::auth::AdminAuth;
use super::dto::{AuditPage, VerifyResponse};
use super::errors::{ApiError, api_errors};
use super::export::{ExportFormat, ExportResponse, export};
use super::params::{flag, one_of, page, query_tenant, time_param};
use super::typed_param::{
    CHECKS, CheckParam, DECISIONS, DecisionParam, ExportFormatParam, Flag, Instant, Limit, Offset,
    Param, raw,
};
use crate::adapters::http::encoded::Encoded;
use crate::adapters::http::tags::ApiTags;
use crate::adapters::http::wire::GoJson;
use crate::app::Gateway;
use crate::app::admin::{Caller, verify_against, verify_chain};
use crate::domain::audit::{AuditQuery, chain_key};
use crate::domain::tenant::TenantScope;

api_errors!(
    /// Errors of the audit routes.
    AuditErrors { 400 BadRequest, 401 Unauthorized, 403 Forbidden, 503 Unavailable }
);

pub struct AuditApi;

#[OpenApi(tag = "ApiTags::Audit")]
impl AuditApi {
    /// Audit events, newest first. String filters match exactly; `from`/`to` are
    /// inclusive RFC 3339 bounds; `count=true` adds the unpaged `total`.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/v1/admin/audit", method = "get", operation_id = "queryAudit")]
    async fn query(
        &self,
        auth: AdminAuth,
        gateway: Data<&Arc<Gateway>>,
        from: Query<Option<Param<Instant>>>,
        to: Query<Option<Param<Instant>>>,
        agent_id: Query<Option<String>>,
        tool: Query<Option<String>>,
        decision: Query<Option<Param<DecisionParam>>>,
        check: Query<Option<Param<CheckParam>>>,
        jti: Query<Option<String>>,
        elevation_id: Query<Option<String>>,
        tenant: Query<Option<String>>,
        limit: Query<Option<Param<Limit>>>,
        offset: Query<Option<Param<Offset>>>,
        count: Query<Option<Param<Flag>>>,
    ) -> Result<GoJson<AuditPage>, AuditErrors> {
        let caller = auth.caller()?;
        let filters = Filters {
            from: raw(&from).map(str::to_owned),
            to: raw(&to).map(str::to_owned),
            agent_id: agent_id.0,
            tool: tool.0,
            decision: one_of(raw(&decision), "decision", DECISIONS)?,
            check: one_of(raw(&check), "check", CHECKS)?,
            jti: jti.0,
            elevation_id: elevation_id.0,
            tenant: tenant.0,
        };
        let mut query = filters.into_query(caller)?;
        (query.limit, query.offset) = page(raw(&limit), raw(&offset))?;
        let store = &gateway.stores.audit;
        let rows = store.query(&query).await.map_err(ApiError::from)?;
        let total = if flag(raw(&count), "count")? {
            Some(
                store
                    .count(&query)
                    .await
                    .map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX)),
            )
        } else {
            None
        };
        let events = rows
            .iter()
            .map(|r| Encoded::new(r.event.to_json()))
            .collect();
        Ok(GoJson::new(&AuditPage {
            events,
            limit: query.limit,
            offset: query.offset,
            total,
        }))
    }

    /// Re-verifies one tenant's hash chain (optionally only events in a time window),
    /// and checks it against the tenant's latest signed checkpoint.
    #[oai(
        path = "/v1/admin/audit/verify",
        method = "get",
        operation_id = "verifyAuditChain"
    )]
    async fn verify(
        &self,
        auth: AdminAuth,
        gateway: Data<&Arc<Gateway>>,
        tenant: Query<Option<String>>,
        from: Query<Option<Param<Instant>>>,
        to: Query<Option<Param<Instant>>>,
    ) -> Result<GoJson<VerifyResponse>, AuditErrors> {
        let caller = auth.caller()?;
        let tenant = query_tenant(caller, tenant.as_deref().unwrap_or_default().trim())?;
        let from = time_param(raw(&from), "from")?;
        let to = time_param(raw(&to), "to")?;
        let (audit, chain) = (gateway.stores.audit.as_ref(), chain_key(&tenant));
        let latest = gateway.transparency.latest(chain).await;
        let verdict = match latest.map_err(ApiError::from)? {
            Some(c) => verify_against(audit, chain, from, to, &c)
                .await
                .map(|report| VerifyResponse::against(tenant, report, &c)),
            None => verify_chain(audit, chain, from, to)
                .await
                .map(|report| VerifyResponse::from_report(tenant, report)),
        };
        Ok(GoJson::new(&verdict.map_err(ApiError::from)?))
    }

    /// Streams matching events as CSV (default) or NDJSON (`format=json`), newest
    /// first, at most 200,000 rows. Rows carry `chain`, `seq`, `prev_hash` and `hash`.
    /// With `proofs=true` (NDJSON only) each chain's records are followed, after the
    /// last row, by a proof bundle line: a signed checkpoint and the inclusion proof
    /// of the chain's newest exported record (`igctl audit verify-file --key`).
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/v1/admin/audit/export",
        method = "get",
        operation_id = "exportAudit"
    )]
    async fn export(
        &self,
        auth: AdminAuth,
        gateway: Data<&Arc<Gateway>>,
        format: Query<Option<Param<ExportFormatParam>>>,
        from: Query<Option<Param<Instant>>>,
        to: Query<Option<Param<Instant>>>,
        agent_id: Query<Option<String>>,
        tool: Query<Option<String>>,
        decision: Query<Option<Param<DecisionParam>>>,
        check: Query<Option<Param<CheckParam>>>,
        jti: Query<Option<String>>,
        elevation_id: Query<Option<String>>,
        tenant: Query<Option<String>>,
        proofs: Query<Option<Param<Flag>>>,
    ) -> Result<ExportResponse, AuditErrors> {
        let caller = auth.caller()?;
        let format = ExportFormat::parse(raw(&format).unwrap_or_default())?;
        let proofs = flag(raw(&proofs), "proofs")?;
        if proofs && format != ExportFormat::Ndjson {
            return Err(ApiError::BadRequest("proofs=true needs format=json".into()).into());
        }
        let filters = Filters {
            from: raw(&from).map(str::to_owned),
            to: raw(&to).map(str::to_owned),
            agent_id: agent_id.0,
            tool: tool.0,
            decision: one_of(raw(&decision), "decision", DECISIONS)?,
            check: one_of(raw(&check), "check", CHECKS)?,
            jti: jti.0,
            elevation_id: elevation_id.0,
            tenant: tenant.0,
        };
        let query = filters.into_query(caller)?;
        Ok(export(Arc::clone(&gateway), query, format, proofs).await?)
    }
}

/// Query-string filters before validation.
struct Filters {
    from: Option<String>,
    to: Option<String>,
    agent_id: Option<String>,
    tool: Option<String>,
    decision: Option<String>,
    check: Option<String>,
    jti: Option<String>,
    elevation_id: Option<String>,
    tenant: Option<String>,
}

impl Filters {
    /// Tenant scoping first, then the time bounds (the reference's order).
    fn into_query(self, caller: &Caller) -> Result<AuditQuery, ApiError> {
        let tenant = query_tenant(caller, self.tenant.as_deref().unwrap_or_default())?;
        Ok(AuditQuery {
            from: time_param(self.from.as_deref(), "from")?,
            to: time_param(self.to.as_deref(), "to")?,
            tenant: TenantScope::from_filter(&tenant),
            agent_id: self.agent_id.unwrap_or_default(),
            tool: self.tool.unwrap_or_default(),
            decision: self.decision.unwrap_or_default(),
            check: self.check.unwrap_or_default(),
            jti: self.jti.unwrap_or_default(),
            elevation_id: self.elevation_id.unwrap_or_default(),
            after: None,
            limit: 0,
            offset: 0,
        })
    }
}

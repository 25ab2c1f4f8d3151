//! Agent discovery: the agents the audit log has seen, a thin route over
//! [`discover_agents`].

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::Query;

use super::auth::AdminAuth;
use super::dto::AgentsResponse;
use super::errors::{ApiError, api_errors};
use super::params::{query_tenant, time_param};
use super::typed_param::{Instant, Param, raw};
use crate::adapters::http::tags::ApiTags;
use crate::adapters::http::wire::GoJson;
use crate::app::Gateway;
use crate::app::admin::discover_agents;
use crate::domain::audit::AuditQuery;
use crate::domain::tenant::TenantScope;

api_errors!(
    /// Errors of the agents route.
    AgentsErrors { 400 BadRequest, 401 Unauthorized, 403 Forbidden, 503 Unavailable }
);

pub struct AgentsApi;

#[OpenApi(tag = "ApiTags::Agents")]
impl AgentsApi {
    /// The agents seen in the newest 10,000 audit events of the window (tenant scoping
    /// as for the audit query; `from`/`to` are inclusive RFC 3339 bounds), most
    /// recently seen first, with the tools each called, call and blocked counts,
    /// sessions and the risk signals its tool names suggest.
    #[oai(path = "/v1/admin/agents", method = "get", operation_id = "listAgents")]
    async fn list(
        &self,
        auth: AdminAuth,
        gateway: Data<&Arc<Gateway>>,
        tenant: Query<Option<String>>,
        from: Query<Option<Param<Instant>>>,
        to: Query<Option<Param<Instant>>>,
    ) -> Result<GoJson<AgentsResponse>, AgentsErrors> {
        let caller = auth.caller()?;
        let tenant = query_tenant(caller, tenant.as_deref().unwrap_or_default())?;
        let query = AuditQuery {
            from: time_param(raw(&from), "from")?,
            to: time_param(raw(&to), "to")?,
            tenant: TenantScope::from_filter(&tenant),
            ..AuditQuery::default()
        };
        let found = discover_agents(gateway.stores.audit.as_ref(), query)
            .await
            .map_err(ApiError::from)?;
        Ok(GoJson::new(&AgentsResponse {
            agents: found.agents.into_iter().map(Into::into).collect(),
            events_scanned: found.events_scanned,
        }))
    }
}

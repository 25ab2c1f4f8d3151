//! Integrations: the SIEM forwarders and how their deliveries are going.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::OpenApi;

use super::auth::AdminAuth;
use super::dto::{IntegrationStatus, IntegrationsResponse, non_empty};
use super::errors::{ApiError, api_errors};
use crate::adapters::http::tags::ApiTags;
use crate::adapters::http::wire::GoJson;
use crate::app::Gateway;
use crate::ports::SinkStatus;

api_errors!(
    /// Errors of `GET /v1/admin/integrations`.
    IntegrationsErrors { 401 Unauthorized, 503 Unavailable }
);

pub struct IntegrationsApi;

#[OpenApi(tag = "ApiTags::Integrations")]
impl IntegrationsApi {
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
    ) -> Result<GoJson<IntegrationsResponse>, IntegrationsErrors> {
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

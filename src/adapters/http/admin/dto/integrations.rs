//! Bodies of the `Integrations` tag: each outbound forwarder and its state.

use poem_openapi::Object;
use serde::Serialize;

#[derive(Object, Serialize)]
pub struct IntegrationStatus {
    pub name: String,
    pub configured: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub endpoint: Option<String>,
    /// Last successful flush; `0001-01-01T00:00:00Z` when none.
    pub last_flush_ts: String,
    pub total_events: u64,
    pub dropped_count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub last_error: Option<String>,
}

#[derive(Object, Serialize)]
pub struct IntegrationsResponse {
    pub integrations: Vec<IntegrationStatus>,
}

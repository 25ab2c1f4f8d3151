//! Bodies of the `Approvals` tag: escalated calls and decisions on them.

use poem_openapi::Object;
use serde::{Deserialize, Serialize};

use super::null_default;
use crate::adapters::http::admin::typed_param::{Statuses, Text, Verdicts};
use crate::adapters::http::encoded::Encoded;

/// A pending (or decided) approval row.
#[derive(Object)]
pub struct PendingRequest {
    pub pending_id: String,
    pub tenant: Option<String>,
    pub capability_token_id: Option<String>,
    pub root_capability_token_id: Option<String>,
    pub agent_id: String,
    pub tool: String,
    pub args: Option<serde_json::Value>,
    pub intent_summary: Option<String>,
    pub reason: String,
    /// `pending`, `approved`, `rejected` or `timeout`.
    pub status: Text<Statuses>,
    pub created_at: String,
    pub decided_at: Option<String>,
    pub decided_by: Option<String>,
    pub decide_note: Option<String>,
    pub requires_step_up: Option<bool>,
}

#[derive(Object, Serialize)]
pub struct ApprovalsPage {
    pub approvals: Vec<Encoded<PendingRequest>>,
    pub limit: u32,
    pub offset: u64,
}

#[derive(Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct DecideRequest {
    /// `approve` or `reject`.
    #[serde(default, deserialize_with = "null_default")]
    pub decision: Text<Verdicts>,
    #[serde(default)]
    #[oai(nullable)]
    pub decided_by: Option<String>,
    #[serde(default)]
    #[oai(nullable)]
    pub note: Option<String>,
}

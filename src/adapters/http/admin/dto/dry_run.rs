//! Bodies of a policy dry-run (`Policies` tag): the replay asked for and what would
//! change.

use poem_openapi::Object;
use serde::{Deserialize, Serialize};

use super::null_default;
use crate::adapters::http::admin::typed_param::{CandidateDecisions, Decisions, Text};

#[derive(Object, Deserialize)]
pub struct DryRunRequest {
    #[serde(default, deserialize_with = "null_default")]
    /// Not blank.
    #[oai(validator(pattern = r"\S"))]
    pub rego: String,
    #[serde(default)]
    #[oai(nullable)]
    pub from: Option<String>,
    #[serde(default)]
    #[oai(nullable)]
    pub to: Option<String>,
    #[serde(default)]
    #[oai(nullable)]
    pub limit: Option<i64>,
    #[serde(default)]
    #[oai(nullable)]
    pub agent_id: Option<String>,
    #[serde(default)]
    #[oai(nullable)]
    pub tool: Option<String>,
    #[serde(default)]
    #[oai(nullable)]
    pub max_samples: Option<i64>,
    #[serde(default)]
    #[oai(nullable)]
    pub tenant: Option<String>,
}

#[derive(Object, Serialize)]
pub struct DryRunSummary {
    pub events_evaluated: u64,
    pub would_allow: u64,
    pub would_block: u64,
    pub would_escalate: u64,
    pub policy_error: u64,
    pub allow_to_block: u64,
    pub allow_to_escalate: u64,
    pub block_to_allow: u64,
    pub block_to_escalate: u64,
    pub escalate_to_allow: u64,
    pub escalate_to_block: u64,
}

#[derive(Object, Serialize)]
pub struct DryRunSample {
    pub ts: String,
    pub tool: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub agent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub tenant: Option<String>,
    pub original_decision: Text<Decisions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub original_check: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub original_reason: Option<String>,
    pub candidate_decision: Text<CandidateDecisions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub candidate_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub candidate_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub arg_keys: Option<Vec<String>>,
}

#[derive(Object, Serialize)]
pub struct DryRunWindow {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub tenant: Option<String>,
    pub limit: i64,
}

#[derive(Object, Serialize)]
pub struct DryRunResponse {
    pub summary: DryRunSummary,
    pub samples: Vec<DryRunSample>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub warnings: Option<Vec<String>>,
    pub window: DryRunWindow,
}

//! Bodies of the `Policies` tag: drafts, the active pointer, promote, rollback and
//! clear (dry-runs are in `dry_run`).

use poem_openapi::Object;
use serde::{Deserialize, Serialize};

use super::null_default;
use crate::adapters::http::encoded::Encoded;

/// A policy draft.
#[derive(Object)]
pub struct Draft {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub rego_source: String,
    pub tenant: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub created_by: Option<String>,
}

/// A tenant's active policy pointer.
#[derive(Object)]
pub struct ActivePolicy {
    pub tenant: Option<String>,
    pub current_draft_id: Option<String>,
    pub previous_draft_id: Option<String>,
    pub promoted_at: Option<String>,
    pub promoted_by: Option<String>,
}

#[derive(Object, Serialize)]
pub struct DraftsPage {
    pub drafts: Vec<Encoded<Draft>>,
    pub limit: u32,
    pub offset: u64,
}

#[derive(Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct DraftRequest {
    #[serde(default)]
    #[oai(nullable)]
    pub name: Option<String>,
    #[serde(default)]
    #[oai(nullable)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    /// A Rego module that compiles.
    #[oai(validator(pattern = r"\S"))]
    pub rego_source: String,
    #[serde(default)]
    #[oai(nullable)]
    pub created_by: Option<String>,
    #[serde(default)]
    #[oai(nullable)]
    pub tenant: Option<String>,
}

/// A policy draft was deleted.
#[derive(Object, Serialize)]
pub struct DeleteDraftResponse {
    pub id: String,
    pub ok: bool,
}

#[derive(Object, Serialize)]
pub struct ActivePolicyResponse {
    pub active: Encoded<ActivePolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_draft: Option<Encoded<Draft>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_draft: Option<Encoded<Draft>>,
    /// `draft`, `fallback`, or the startup policy's label.
    pub source: String,
}

#[derive(Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct PromoteRequest {
    #[serde(default, deserialize_with = "null_default")]
    /// Not blank.
    #[oai(validator(pattern = r"\S"))]
    pub draft_id: String,
    #[serde(default)]
    #[oai(nullable)]
    pub promoted_by: Option<String>,
    #[serde(default)]
    #[oai(nullable)]
    pub tenant: Option<String>,
}

#[derive(Object, Serialize)]
pub struct PromoteResponse {
    pub active: Encoded<ActivePolicy>,
    pub promoted_at: String,
    pub swapped: bool,
}

#[derive(Object, Deserialize, Default)]
pub struct RollbackRequest {
    #[serde(default)]
    #[oai(nullable)]
    pub rolled_back_by: Option<String>,
    #[serde(default)]
    #[oai(nullable)]
    pub tenant: Option<String>,
}

#[derive(Object, Serialize)]
pub struct RollbackResponse {
    pub active: Encoded<ActivePolicy>,
    pub swapped: bool,
}

#[derive(Object, Serialize)]
pub struct ClearResponse {
    pub cleared: Encoded<ActivePolicy>,
    pub swapped: bool,
}

//! Request and response bodies of the admin API, separate from domain types. Field
//! order is the reference's wire order (alphabetical where it encodes Go maps).
//! `*Doc` types only document JSON that domain writers produce byte-exactly.

use poem_openapi::Object;
use serde::{Deserialize, Serialize};

use super::typed_param::{
    CandidateDecisions, Decisions, Instant, RiskSignals, Statuses, Text, Verdicts,
};
use crate::adapters::http::encoded::Encoded;
use crate::domain::discovery::ObservedAgent;

/// Go decodes `null` into a field as its zero value; so do we.
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Empty text is left out of a response (Go's `omitempty`); the schema says optional.
pub fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

/// An empty list is left out of a response (Go's `omitempty`).
pub fn non_empty_list(items: Vec<String>) -> Option<Vec<String>> {
    (!items.is_empty()).then_some(items)
}

/// An audit event, schema "6" (reference §3.1). Exports add `chain`, `seq`,
/// `prev_hash` and `hash` so the file can be verified offline.
#[derive(Object)]
#[oai(rename = "AuditEvent")]
pub struct AuditEventDoc {
    pub ts: String,
    pub event: String,
    pub schema_version: String,
    pub decision: Text<Decisions>,
    pub check: Option<String>,
    pub reason: Option<String>,
    pub tenant: Option<String>,
    pub agent_id: Option<String>,
    pub session_id: Option<String>,
    pub tool: String,
    pub arg_keys: Option<Vec<String>>,
    pub arg_values: Option<serde_json::Value>,
    pub capability_token_id: Option<String>,
    pub root_capability_token_id: Option<String>,
    pub caveat_count: Option<i64>,
    pub pending_id: Option<String>,
    pub decided_by: Option<String>,
    pub intent_summary: Option<String>,
    pub latency_ms: i64,
    pub remote_ip: Option<String>,
    pub upstream_status: Option<i64>,
    pub requires_step_up: Option<bool>,
    pub elevation_id: Option<String>,
}

pub type EventJson = Encoded<AuditEventDoc>;

/// A pending (or decided) approval row.
#[derive(Object)]
#[oai(rename = "PendingRequest")]
pub struct ApprovalDoc {
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

pub type ApprovalJson = Encoded<ApprovalDoc>;

/// A policy draft.
#[derive(Object)]
#[oai(rename = "Draft")]
pub struct DraftDoc {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub rego_source: String,
    pub tenant: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub created_by: Option<String>,
}

pub type DraftJson = Encoded<DraftDoc>;

/// A tenant's active policy pointer.
#[derive(Object)]
#[oai(rename = "Active")]
pub struct ActiveDoc {
    pub tenant: Option<String>,
    pub current_draft_id: Option<String>,
    pub previous_draft_id: Option<String>,
    pub promoted_at: Option<String>,
    pub promoted_by: Option<String>,
}

pub type ActiveJson = Encoded<ActiveDoc>;

#[derive(Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct MintRequest {
    #[serde(default, deserialize_with = "null_default")]
    /// Not blank.
    #[oai(validator(pattern = r"\S"))]
    pub subject: String,
    #[serde(default)]
    #[oai(nullable)]
    pub issuer: Option<String>,
    #[serde(default)]
    #[oai(nullable)]
    pub tenant: Option<String>,
    #[serde(default)]
    #[oai(nullable, validator(minimum(value = "0")))]
    pub ttl_seconds: Option<i64>,
    /// Tool names (`tool_allow`); blank ones are skipped.
    #[serde(default)]
    #[oai(nullable)]
    pub tools: Option<Vec<String>>,
    #[serde(default)]
    #[oai(nullable, validator(minimum(value = "0")))]
    pub max_calls: Option<i64>,
    #[serde(default)]
    #[oai(nullable)]
    pub step_up: Option<bool>,
}

#[derive(Object, Serialize)]
pub struct MintResponse {
    /// RFC 3339 (seconds), or empty when the token does not expire.
    pub expires_at: String,
    pub jti: String,
    pub subject: String,
    pub token: String,
}

#[derive(Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct RevokeRequest {
    #[serde(default, deserialize_with = "null_default")]
    /// Not blank.
    #[oai(validator(pattern = r"\S"))]
    pub jti: String,
    #[serde(default)]
    #[oai(nullable)]
    pub reason: Option<String>,
}

/// A token id was revoked (or its reason updated).
#[derive(Object, Serialize)]
pub struct RevokeResponse {
    pub jti: String,
    pub ok: bool,
}

/// A policy draft was deleted.
#[derive(Object, Serialize)]
pub struct DeleteDraftResponse {
    pub id: String,
    pub ok: bool,
}

#[derive(Object, Serialize)]
pub struct RevocationDto {
    pub jti: String,
    pub revoked_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub tenant: Option<String>,
}

#[derive(Object, Serialize)]
pub struct RevocationsPage {
    pub limit: u32,
    pub offset: u64,
    pub revocations: Vec<RevocationDto>,
}

#[derive(Object, Serialize)]
pub struct TenantDto {
    pub id: String,
    pub has_admin: bool,
}

#[derive(Object, Serialize)]
pub struct TenantsResponse {
    pub tenants: Vec<TenantDto>,
}

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

#[derive(Object, Serialize)]
pub struct AuditPage {
    pub events: Vec<EventJson>,
    pub limit: u32,
    pub offset: u64,
    /// Unpaged match count (`count=true` only); -1 when counting failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

#[derive(Object, Serialize)]
pub struct ChainBreakDto {
    /// Position of the broken record in its chain.
    pub id: u64,
    pub ts: String,
    pub stored_hash: String,
    pub expected_hash: String,
    pub reason: String,
}

#[derive(Object, Serialize)]
pub struct VerifyResponse {
    pub ok: bool,
    pub tenant: String,
    pub verified: u64,
    pub skipped: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken_at: Option<ChainBreakDto>,
}

impl VerifyResponse {
    /// The verdict on `tenant`'s chain, as the endpoint (and `igctl audit verify-file`)
    /// prints it.
    pub fn from_report(tenant: String, r: crate::domain::audit::VerifyReport) -> Self {
        Self {
            ok: r.ok,
            tenant,
            verified: r.verified,
            skipped: r.skipped,
            head_at: r.head.as_ref().map(|h| h.ts.to_rfc3339_nano()),
            head_id: r.head.as_ref().map(|h| h.seq),
            broken_at: r.broken_at.map(|b| ChainBreakDto {
                id: b.seq,
                ts: b.ts.to_rfc3339_nano(),
                stored_hash: b.stored_hash,
                expected_hash: b.expected_hash,
                reason: b.reason.as_str().to_owned(),
            }),
        }
    }
}

#[derive(Object, Serialize)]
pub struct ApprovalsPage {
    pub approvals: Vec<ApprovalJson>,
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

#[derive(Object, Serialize)]
pub struct DraftsPage {
    pub drafts: Vec<DraftJson>,
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

#[derive(Object, Serialize)]
pub struct ActiveView {
    pub active: ActiveJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_draft: Option<DraftJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_draft: Option<DraftJson>,
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
    pub active: ActiveJson,
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
    pub active: ActiveJson,
    pub swapped: bool,
}

#[derive(Object, Serialize)]
pub struct ClearResponse {
    pub cleared: ActiveJson,
    pub swapped: bool,
}

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
pub struct DryRunSummaryDto {
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
pub struct DryRunSampleDto {
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
    pub summary: DryRunSummaryDto,
    pub samples: Vec<DryRunSampleDto>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub warnings: Option<Vec<String>>,
    pub window: DryRunWindow,
}

/// One agent the gateway has observed in the audit log.
#[derive(Object, Serialize)]
#[oai(rename = "ObservedAgent")]
pub struct ObservedAgentJson {
    /// Empty for callers without an identity.
    pub agent_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Distinct tool names, sorted.
    pub tools: Vec<String>,
    /// Sorted, distinct.
    pub risk_signals: Vec<Text<RiskSignals>>,
    /// Calls, not events: the events one call leaves (escalation, decision, the event
    /// before forwarding, the outcome) count once.
    pub calls: u64,
    /// Calls whose latest event is not an `allow`.
    pub blocked: u64,
    pub first_seen: Text<Instant>,
    pub last_seen: Text<Instant>,
    /// Distinct session ids.
    pub session_count: u64,
}

impl From<ObservedAgent> for ObservedAgentJson {
    fn from(a: ObservedAgent) -> Self {
        Self {
            agent_id: a.agent_id,
            tenant: non_empty(a.tenant),
            tools: a.tools,
            risk_signals: a
                .risk_signals
                .iter()
                .map(|s| Text::new(s.as_str()))
                .collect(),
            calls: a.calls,
            blocked: a.blocked,
            first_seen: Text::new(a.first_seen.to_rfc3339_nano()),
            last_seen: Text::new(a.last_seen.to_rfc3339_nano()),
            session_count: a.session_count,
        }
    }
}

/// Agents seen in the newest audit events of the window, most recently seen first.
#[derive(Object, Serialize)]
pub struct AgentsPage {
    pub agents: Vec<ObservedAgentJson>,
    /// Audit events read (at most 10,000).
    pub events_scanned: u64,
}

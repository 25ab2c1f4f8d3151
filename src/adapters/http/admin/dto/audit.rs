//! Bodies of the `Audit` tag: events, the query page and the chain verdict.

use poem_openapi::Object;
use serde::Serialize;

use crate::adapters::http::admin::typed_param::{Decisions, Text};
use crate::adapters::http::encoded::Encoded;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::domain::audit::VerifyReport;
use crate::domain::audit::checkpoint::SignedCheckpoint;

/// An audit event, schema "6" (reference §3.1). Exports add `chain`, `seq`,
/// `prev_hash` and `hash` so the file can be verified offline.
#[derive(Object)]
pub struct AuditEvent {
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
    /// The authorization server of an OAuth caller's access token.
    pub token_issuer: Option<String>,
    /// The OAuth client an OAuth caller's access token was issued to.
    pub client_id: Option<String>,
}

#[derive(Object, Serialize)]
pub struct AuditPage {
    pub events: Vec<Encoded<AuditEvent>>,
    pub limit: u32,
    pub offset: u64,
    /// Unpaged match count (`count=true` only); -1 when counting failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

#[derive(Object, Serialize)]
pub struct ChainBreak {
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
    pub broken_at: Option<ChainBreak>,
    /// The signed checkpoint the chain was checked against (the endpoint: the
    /// tenant's latest; `igctl audit verify-file`: the export's bundle). Absent when
    /// the chain has none yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<VerifiedCheckpoint>,
}

/// A checkpoint a verification checked the chain against.
#[derive(Object, Serialize)]
pub struct VerifiedCheckpoint {
    /// Records the checkpoint covers: `seq` 1 to `tree_size`.
    pub tree_size: u64,
    /// The root it signed (base64).
    pub root_hash: String,
    /// `true`: the records have that root; `false`: they do not, and `ok` is false;
    /// absent: not checked (the walk stopped at a broken link first, or the store no
    /// longer keeps the chain's oldest records).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<bool>,
    /// The signed note, to compare with a copy kept outside the gateway.
    pub checkpoint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<String>,
}

impl VerifiedCheckpoint {
    pub fn new(c: &SignedCheckpoint, matched: Option<bool>) -> Self {
        Self {
            tree_size: c.size,
            root_hash: STANDARD.encode(c.root.0),
            matched,
            checkpoint: c.note.clone(),
            issued_at: Some(c.issued_at.to_rfc3339_nano()),
        }
    }
}

impl VerifyResponse {
    /// The verdict on `tenant`'s chain, as the endpoint (and `igctl audit verify-file`)
    /// prints it.
    pub fn from_report(tenant: String, r: VerifyReport) -> Self {
        Self {
            ok: r.ok,
            tenant,
            verified: r.verified,
            skipped: r.skipped,
            head_at: r.head.as_ref().map(|h| h.ts.to_rfc3339_nano()),
            head_id: r.head.as_ref().map(|h| h.seq),
            broken_at: r.broken_at.map(|b| ChainBreak {
                id: b.seq,
                ts: b.ts.to_rfc3339_nano(),
                stored_hash: b.stored_hash,
                expected_hash: b.expected_hash,
                reason: b.reason.as_str().to_owned(),
            }),
            checkpoint: None,
        }
    }

    /// The verdict of a walk checked against `checkpoint`.
    pub fn against(tenant: String, r: VerifyReport, checkpoint: &SignedCheckpoint) -> Self {
        let matched = r.checkpoint.as_ref().and_then(|c| c.matched);
        Self {
            checkpoint: Some(VerifiedCheckpoint::new(checkpoint, matched)),
            ..Self::from_report(tenant, r)
        }
    }
}

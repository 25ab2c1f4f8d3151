//! The on-disk form of every record: adapter-owned structs, so the domain types can
//! change without silently changing stored bytes. Timestamps are Unix nanoseconds.
//!
//! Audit records, the one high-volume kind, are postcard: positional and compact, about
//! half the size of their JSON and several times faster to decode, and decoding is most
//! of what a full verify or export of a chain spends. Positional means a field added to
//! [`EventRecord`] changes the layout: bump the schema version in `mod.rs` with it.
//! Everything else stays JSON, readable with any sled tool.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::approval::{Approval, ApprovalStatus};
use crate::domain::audit::{AuditEvent, ChainHead, ChainedEvent};
use crate::domain::mcp::{McpSession, SessionOwner};
use crate::domain::policy::{ActivePolicy, PolicyDraft};
use crate::domain::revocation::Revocation;
use crate::domain::time::Timestamp;
use crate::ports::StoreError;

pub(super) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Backend {
        backend: "sled",
        source: Box::new(e),
    })
}

pub(super) fn decode<T: for<'de> Deserialize<'de>>(
    bytes: &[u8],
    what: &str,
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| corrupted(format!("{what}: {e}")))
}

pub(super) fn encode_compact<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    postcard::to_allocvec(value).map_err(|e| StoreError::Backend {
        backend: "sled",
        source: Box::new(e),
    })
}

/// The first fields of an [`EventRecord`], borrowed: postcard is positional, so a
/// record's position and hash decode without reading (or allocating) its event.
#[derive(Deserialize)]
struct RecordPosition<'a> {
    _chain: &'a str,
    seq: u64,
    _prev_hash: &'a str,
    hash: &'a str,
}

/// A stored audit record's `seq` and chain hash.
pub(super) fn decode_position(bytes: &[u8]) -> Result<(u64, String), StoreError> {
    let (position, _event) = postcard::take_from_bytes::<RecordPosition<'_>>(bytes)
        .map_err(|e| corrupted(format!("audit record: {e}")))?;
    Ok((position.seq, position.hash.to_owned()))
}

/// Reads an audit record as schema version 1 wrote it: JSON, with `arg_values` as a
/// JSON value rather than its text.
pub(super) fn decode_v1_event(bytes: &[u8]) -> Result<EventRecord, StoreError> {
    let mut fields: serde_json::Map<String, Value> = decode(bytes, "version 1 audit record")?;
    let text = match fields.remove("arg_values") {
        None | Some(Value::Null) => Value::Null,
        Some(v) => Value::String(v.to_string()),
    };
    fields.insert("arg_values".into(), text);
    serde_json::from_value(Value::Object(fields))
        .map_err(|e| corrupted(format!("version 1 audit record: {e}")))
}

fn corrupted(message: String) -> StoreError {
    StoreError::Corrupted {
        backend: "sled",
        message,
    }
}

fn ts(t: Timestamp) -> i64 {
    t.unix_nanos()
}

fn at(nanos: i64) -> Timestamp {
    Timestamp::from_unix_nanos(nanos)
}

#[derive(Serialize, Deserialize)]
pub(super) struct HeadRecord {
    seq: u64,
    hash: String,
    ts: i64,
}

impl From<&ChainHead> for HeadRecord {
    fn from(h: &ChainHead) -> Self {
        Self {
            seq: h.seq,
            hash: h.hash.clone(),
            ts: ts(h.ts),
        }
    }
}

impl From<HeadRecord> for ChainHead {
    fn from(h: HeadRecord) -> Self {
        Self {
            seq: h.seq,
            hash: h.hash,
            ts: at(h.ts),
        }
    }
}

/// Every field of a chained event, in this order (postcard is positional); the tool
/// arguments, free-form JSON, are kept as their JSON text.
#[derive(Serialize, Deserialize)]
pub(super) struct EventRecord {
    chain: String,
    seq: u64,
    prev_hash: String,
    hash: String,
    ts: i64,
    event: String,
    schema_version: String,
    decision: String,
    check: String,
    reason: String,
    tenant: String,
    agent_id: String,
    session_id: String,
    tool: String,
    arg_keys: Vec<String>,
    arg_values: Option<String>,
    capability_token_id: String,
    root_capability_token_id: String,
    caveat_count: i64,
    pending_id: String,
    decided_by: String,
    intent_summary: String,
    latency_ms: i64,
    remote_ip: String,
    upstream_status: i64,
    requires_step_up: bool,
    elevation_id: String,
}

/// What an OAuth caller's record adds after its [`EventRecord`] (schema version 3).
/// Records of other callers end without it, byte for byte as version 2 wrote them, so
/// a version 2 directory is read as it is.
#[derive(Serialize, Deserialize)]
struct OAuthTail {
    token_issuer: String,
    client_id: String,
}

/// An audit record's stored bytes.
pub(super) fn encode_event(record: &ChainedEvent) -> Result<Vec<u8>, StoreError> {
    let mut bytes = encode_compact(&EventRecord::from(record))?;
    let e = &record.event;
    if !e.token_issuer.is_empty() || !e.client_id.is_empty() {
        let tail = OAuthTail {
            token_issuer: e.token_issuer.clone(),
            client_id: e.client_id.clone(),
        };
        bytes.extend(encode_compact(&tail)?);
    }
    Ok(bytes)
}

/// An audit record from its stored bytes (with or without the OAuth tail).
pub(super) fn decode_event(bytes: &[u8]) -> Result<ChainedEvent, StoreError> {
    let (record, rest) = postcard::take_from_bytes::<EventRecord>(bytes)
        .map_err(|e| corrupted(format!("audit record: {e}")))?;
    let mut event = ChainedEvent::try_from(record)?;
    if !rest.is_empty() {
        let (tail, after) = postcard::take_from_bytes::<OAuthTail>(rest)
            .map_err(|e| corrupted(format!("audit record's OAuth fields: {e}")))?;
        if !after.is_empty() {
            return Err(corrupted(format!(
                "audit record {}: {} unreadable bytes after its OAuth fields",
                event.seq,
                after.len()
            )));
        }
        event.event.token_issuer = tail.token_issuer;
        event.event.client_id = tail.client_id;
    }
    Ok(event)
}

impl From<&ChainedEvent> for EventRecord {
    fn from(r: &ChainedEvent) -> Self {
        let e = r.event.clone();
        Self {
            chain: r.chain.clone(),
            seq: r.seq,
            prev_hash: r.prev_hash.clone(),
            hash: r.hash.clone(),
            ts: ts(e.ts),
            event: e.event,
            schema_version: e.schema_version,
            decision: e.decision,
            check: e.check,
            reason: e.reason,
            tenant: e.tenant,
            agent_id: e.agent_id,
            session_id: e.session_id,
            tool: e.tool,
            arg_keys: e.arg_keys,
            arg_values: e.arg_values.map(|v| v.to_string()),
            capability_token_id: e.capability_token_id,
            root_capability_token_id: e.root_capability_token_id,
            caveat_count: e.caveat_count,
            pending_id: e.pending_id,
            decided_by: e.decided_by,
            intent_summary: e.intent_summary,
            latency_ms: e.latency_ms,
            remote_ip: e.remote_ip,
            upstream_status: e.upstream_status,
            requires_step_up: e.requires_step_up,
            elevation_id: e.elevation_id,
        }
    }
}

impl TryFrom<EventRecord> for ChainedEvent {
    type Error = StoreError;

    fn try_from(r: EventRecord) -> Result<Self, StoreError> {
        let arg_values = r
            .arg_values
            .map(|text| serde_json::from_str::<Value>(&text))
            .transpose()
            .map_err(|e| corrupted(format!("audit record {} arg_values: {e}", r.seq)))?;
        let event = AuditEvent {
            ts: at(r.ts),
            event: r.event,
            schema_version: r.schema_version,
            decision: r.decision,
            check: r.check,
            reason: r.reason,
            tenant: r.tenant,
            agent_id: r.agent_id,
            session_id: r.session_id,
            tool: r.tool,
            arg_keys: r.arg_keys,
            arg_values,
            capability_token_id: r.capability_token_id,
            root_capability_token_id: r.root_capability_token_id,
            caveat_count: r.caveat_count,
            pending_id: r.pending_id,
            decided_by: r.decided_by,
            intent_summary: r.intent_summary,
            latency_ms: r.latency_ms,
            remote_ip: r.remote_ip,
            upstream_status: r.upstream_status,
            requires_step_up: r.requires_step_up,
            elevation_id: r.elevation_id,
            token_issuer: String::new(),
            client_id: String::new(),
        };
        Ok(Self {
            chain: r.chain,
            seq: r.seq,
            prev_hash: r.prev_hash,
            hash: r.hash,
            event,
        })
    }
}

#[derive(Serialize, Deserialize)]
pub(super) struct RevocationRecord {
    jti: String,
    tenant: String,
    reason: String,
    revoked_at: i64,
}

impl From<&Revocation> for RevocationRecord {
    fn from(r: &Revocation) -> Self {
        Self {
            jti: r.jti.clone(),
            tenant: r.tenant.clone(),
            reason: r.reason.clone(),
            revoked_at: ts(r.revoked_at),
        }
    }
}

impl From<RevocationRecord> for Revocation {
    fn from(r: RevocationRecord) -> Self {
        Self {
            jti: r.jti,
            tenant: r.tenant,
            reason: r.reason,
            revoked_at: at(r.revoked_at),
        }
    }
}

#[derive(Serialize, Deserialize)]
pub(super) struct CounterRecord {
    pub calls: u64,
    pub window_start: i64,
}

#[derive(Serialize, Deserialize)]
pub(super) struct ApprovalRecord {
    pending_id: String,
    tenant: String,
    capability_token_id: String,
    root_capability_token_id: String,
    agent_id: String,
    tool: String,
    args: Option<Value>,
    intent_summary: String,
    reason: String,
    status: String,
    created_at: i64,
    decided_at: Option<i64>,
    decided_by: String,
    decide_note: String,
    requires_step_up: bool,
}

impl From<&Approval> for ApprovalRecord {
    fn from(a: &Approval) -> Self {
        Self {
            pending_id: a.pending_id.clone(),
            tenant: a.tenant.clone(),
            capability_token_id: a.capability_token_id.clone(),
            root_capability_token_id: a.root_capability_token_id.clone(),
            agent_id: a.agent_id.clone(),
            tool: a.tool.clone(),
            args: a.args.clone(),
            intent_summary: a.intent_summary.clone(),
            reason: a.reason.clone(),
            status: a.status.as_str().to_owned(),
            created_at: ts(a.created_at),
            decided_at: a.decided_at.map(ts),
            decided_by: a.decided_by.clone(),
            decide_note: a.decide_note.clone(),
            requires_step_up: a.requires_step_up,
        }
    }
}

impl TryFrom<ApprovalRecord> for Approval {
    type Error = StoreError;

    fn try_from(r: ApprovalRecord) -> Result<Self, StoreError> {
        let status = ApprovalStatus::parse(&r.status).ok_or_else(|| StoreError::Corrupted {
            backend: "sled",
            message: format!("approval {} has status {:?}", r.pending_id, r.status),
        })?;
        Ok(Self {
            pending_id: r.pending_id,
            tenant: r.tenant,
            capability_token_id: r.capability_token_id,
            root_capability_token_id: r.root_capability_token_id,
            agent_id: r.agent_id,
            tool: r.tool,
            args: r.args,
            intent_summary: r.intent_summary,
            reason: r.reason,
            status,
            created_at: at(r.created_at),
            decided_at: r.decided_at.map(at),
            decided_by: r.decided_by,
            decide_note: r.decide_note,
            requires_step_up: r.requires_step_up,
        })
    }
}

#[derive(Serialize, Deserialize)]
pub(super) struct DraftRecord {
    id: String,
    name: String,
    description: String,
    rego_source: String,
    tenant: String,
    created_at: i64,
    updated_at: i64,
    created_by: String,
}

impl From<&PolicyDraft> for DraftRecord {
    fn from(d: &PolicyDraft) -> Self {
        Self {
            id: d.id.clone(),
            name: d.name.clone(),
            description: d.description.clone(),
            rego_source: d.rego_source.clone(),
            tenant: d.tenant.clone(),
            created_at: ts(d.created_at),
            updated_at: ts(d.updated_at),
            created_by: d.created_by.clone(),
        }
    }
}

impl From<DraftRecord> for PolicyDraft {
    fn from(d: DraftRecord) -> Self {
        Self {
            id: d.id,
            name: d.name,
            description: d.description,
            rego_source: d.rego_source,
            tenant: d.tenant,
            created_at: at(d.created_at),
            updated_at: at(d.updated_at),
            created_by: d.created_by,
        }
    }
}

#[derive(Serialize, Deserialize)]
pub(super) struct ActiveRecord {
    tenant: String,
    current_draft_id: String,
    previous_draft_id: String,
    promoted_at: Option<i64>,
    promoted_by: String,
}

impl From<&ActivePolicy> for ActiveRecord {
    fn from(a: &ActivePolicy) -> Self {
        Self {
            tenant: a.tenant.clone(),
            current_draft_id: a.current_draft_id.clone(),
            previous_draft_id: a.previous_draft_id.clone(),
            promoted_at: a.promoted_at.map(ts),
            promoted_by: a.promoted_by.clone(),
        }
    }
}

impl From<ActiveRecord> for ActivePolicy {
    fn from(a: ActiveRecord) -> Self {
        Self {
            tenant: a.tenant,
            current_draft_id: a.current_draft_id,
            previous_draft_id: a.previous_draft_id,
            promoted_at: a.promoted_at.map(at),
            promoted_by: a.promoted_by,
        }
    }
}

#[derive(Serialize, Deserialize)]
pub(super) struct SessionRecord {
    id: String,
    tenant: String,
    subject: String,
    root_jti: String,
    upstream_id: Option<String>,
    protocol_version: String,
    created_at: i64,
    pub expires_at: i64,
}

impl From<&McpSession> for SessionRecord {
    fn from(s: &McpSession) -> Self {
        Self {
            id: s.id.clone(),
            tenant: s.owner.tenant.clone(),
            subject: s.owner.subject.clone(),
            root_jti: s.owner.root_jti.clone(),
            upstream_id: s.upstream_id.clone(),
            protocol_version: s.protocol_version.clone(),
            created_at: ts(s.created_at),
            expires_at: ts(s.expires_at),
        }
    }
}

impl From<SessionRecord> for McpSession {
    fn from(r: SessionRecord) -> Self {
        Self {
            id: r.id,
            owner: SessionOwner {
                tenant: r.tenant,
                subject: r.subject,
                root_jti: r.root_jti,
            },
            upstream_id: r.upstream_id,
            protocol_version: r.protocol_version,
            created_at: at(r.created_at),
            expires_at: at(r.expires_at),
        }
    }
}

//! The audit event, schema "6": one per decision, serialized in the reference's field
//! order with Go's omit-empty rules.

use serde_json::Value;

use crate::domain::gojson::ObjectWriter;
use crate::domain::time::Timestamp;

/// The `event` name every audit event carries (admin events too).
pub const EVENT_NAME: &str = "intentgate.tool_call";
/// The schema version the reference v1.6.2 stamps.
pub const SCHEMA_VERSION: &str = "6";
/// The reason of the `allow` event written before a call is forwarded (sync
/// durability); the outcome event follows once the tool server has answered.
pub const FORWARDING_REASON: &str = "all checks passed; forwarding upstream";

/// One audit event. String fields hold wire values (`decision` is `allow`, `block` or
/// `escalate`; `check` a stage name or empty) so that a stored row re-serializes to
/// exactly the bytes that were hashed, whatever it contains.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditEvent {
    pub ts: Timestamp,
    pub event: String,
    pub schema_version: String,
    pub decision: String,
    pub check: String,
    pub reason: String,
    pub tenant: String,
    pub agent_id: String,
    pub session_id: String,
    pub tool: String,
    pub arg_keys: Vec<String>,
    /// Redacted argument values; never part of the hash.
    pub arg_values: Option<Value>,
    pub capability_token_id: String,
    pub root_capability_token_id: String,
    pub caveat_count: i64,
    pub pending_id: String,
    pub decided_by: String,
    pub intent_summary: String,
    pub latency_ms: i64,
    pub remote_ip: String,
    pub upstream_status: i64,
    pub requires_step_up: bool,
    pub elevation_id: String,
    /// The authorization server that issued the caller's access token (OAuth callers).
    pub token_issuer: String,
    /// The OAuth client the caller's access token was issued to.
    pub client_id: String,
}

impl AuditEvent {
    /// A schema-6 event with the always-present fields set.
    pub fn new(ts: Timestamp, decision: &str, tool: &str) -> Self {
        Self {
            ts,
            event: EVENT_NAME.to_owned(),
            schema_version: SCHEMA_VERSION.to_owned(),
            decision: decision.to_owned(),
            tool: tool.to_owned(),
            ..Self::default()
        }
    }

    /// The wire form (stdout line, query results, NDJSON export): includes `arg_values`.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(512);
        self.write(&mut out, true);
        out
    }

    /// Appends the wire form to `out`, which ends with the object's closing `}`.
    pub fn write_json(&self, out: &mut String) {
        self.write(out, true);
    }

    /// The hashed form: the wire form without `arg_values`.
    pub fn canonical_json(&self) -> String {
        let mut out = String::with_capacity(512);
        self.write_canonical(&mut out);
        out
    }

    /// Appends the hashed form to `out` (a verifier reuses one buffer for a whole walk).
    pub fn write_canonical(&self, out: &mut String) {
        self.write(out, false);
    }

    fn write(&self, out: &mut String, with_values: bool) {
        let mut w = ObjectWriter::new(out);
        w.str("ts", &self.ts.to_rfc3339_nano())
            .str("event", &self.event);
        w.str("schema_version", &self.schema_version)
            .str("decision", &self.decision);
        w.str_opt("check", &self.check)
            .str_opt("reason", &self.reason);
        w.str_opt("tenant", &self.tenant)
            .str_opt("agent_id", &self.agent_id);
        w.str_opt("session_id", &self.session_id)
            .str("tool", &self.tool);
        w.strs_opt("arg_keys", &self.arg_keys);
        if with_values {
            w.value_opt("arg_values", self.arg_values.as_ref());
        }
        w.str_opt("capability_token_id", &self.capability_token_id);
        w.str_opt("root_capability_token_id", &self.root_capability_token_id);
        w.int_opt("caveat_count", self.caveat_count)
            .str_opt("pending_id", &self.pending_id);
        w.str_opt("decided_by", &self.decided_by);
        w.str_opt("intent_summary", &self.intent_summary);
        w.int("latency_ms", self.latency_ms)
            .str_opt("remote_ip", &self.remote_ip);
        w.int_opt("upstream_status", self.upstream_status);
        w.true_opt("requires_step_up", self.requires_step_up);
        w.str_opt("elevation_id", &self.elevation_id);
        w.str_opt("token_issuer", &self.token_issuer);
        w.str_opt("client_id", &self.client_id);
        w.finish();
    }
}

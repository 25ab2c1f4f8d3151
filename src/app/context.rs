//! What the pipeline learned about one call so far, and the audit events it implies.

use std::time::Instant;

use serde_json::{Map, Value};

use crate::domain::audit::{AuditEvent, arg_keys, redact_args};
use crate::domain::credential::Credential;
use crate::domain::decision::{Stage, Verdict};
use crate::domain::intent::Intent;
use crate::domain::jsonrpc::ToolCallParams;

use super::Gateway;
use super::mcp::Interim;
use crate::ports::UpstreamHeaders;

/// A `tools/call` as the HTTP layer hands it over.
pub struct ToolCall {
    pub params: ToolCallParams,
    /// The envelope to forward upstream (already re-serialized).
    pub forward_body: String,
    pub is_notification: bool,
    pub authorization: Option<String>,
    /// The caller, when the transport already verified `authorization` (to find the
    /// call's session): the pipeline does not verify it twice. `None`: not yet read.
    pub verified_caller: Option<Credential>,
    pub intent_prompt: Option<String>,
    pub remote_addr: String,
    pub started: Instant,
    /// The gateway's MCP session the call belongs to (empty outside sessions).
    pub session_id: String,
    /// Session, protocol version and request metadata headers for the tool server.
    pub upstream_headers: UpstreamHeaders,
    /// Where the tool server's messages before its answer go (progress, logging).
    pub interim: Option<Interim>,
}

pub(super) struct CallContext<'a> {
    pub req: &'a ToolCall,
    pub started: Instant,
    /// Set once the credential verified (identity goes on events from then on).
    pub caller: Option<Credential>,
    pub intent: Option<Intent>,
    pub requires_step_up: bool,
}

impl<'a> CallContext<'a> {
    pub fn new(req: &'a ToolCall) -> Self {
        Self {
            req,
            started: req.started,
            caller: None,
            intent: None,
            requires_step_up: false,
        }
    }

    pub fn latency_ms(&self) -> i64 {
        i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX)
    }

    pub fn tenant(&self) -> &str {
        self.caller.as_ref().map_or("", Credential::tenant)
    }

    pub fn subject(&self) -> &str {
        self.caller.as_ref().map_or("", Credential::subject)
    }

    fn arguments(&self) -> &Map<String, Value> {
        &self.req.params.arguments
    }

    /// An audit event for this call with everything known so far.
    pub fn event(
        &self,
        gw: &Gateway,
        verdict: Verdict,
        stage: Option<Stage>,
        reason: &str,
    ) -> AuditEvent {
        let mut e = AuditEvent::new(gw.clock.now(), verdict.as_str(), &self.req.params.name);
        e.check = stage.map(Stage::as_str).unwrap_or_default().to_owned();
        e.reason = reason.to_owned();
        e.arg_keys = arg_keys(self.arguments());
        e.arg_values = redact_args(gw.settings.arg_values, self.arguments());
        if let Some(caller) = &self.caller {
            caller.stamp(&mut e);
        }
        if let Some(intent) = &self.intent {
            e.intent_summary.clone_from(&intent.summary);
        }
        e.latency_ms = self.latency_ms();
        e.remote_ip.clone_from(&self.req.remote_addr);
        e.session_id.clone_from(&self.req.session_id);
        e.requires_step_up = self.requires_step_up;
        e
    }

    /// The policy input document, exactly as the reference builds it.
    pub fn policy_input(&self) -> Value {
        let mut input = Map::new();
        input.insert("tool".into(), Value::String(self.req.params.name.clone()));
        if !self.arguments().is_empty() {
            input.insert("args".into(), Value::Object(self.arguments().clone()));
        }
        if let Some(intent) = &self.intent {
            input.insert("intent".into(), intent_input(intent));
        }
        if let Some(caller) = &self.caller {
            caller.describe_to_policy(&mut input);
        }
        Value::Object(input)
    }
}

fn intent_input(intent: &Intent) -> Value {
    let mut m = Map::new();
    let strings = |v: &[String]| Value::Array(v.iter().cloned().map(Value::String).collect());
    if !intent.summary.is_empty() {
        m.insert("summary".into(), Value::String(intent.summary.clone()));
    }
    if !intent.allowed_tools.is_empty() {
        m.insert("allowed_tools".into(), strings(&intent.allowed_tools));
    }
    if !intent.forbidden_tools.is_empty() {
        m.insert("forbidden_tools".into(), strings(&intent.forbidden_tools));
    }
    if intent.confidence != 0.0 {
        m.insert("confidence".into(), Value::from(intent.confidence));
    }
    Value::Object(m)
}

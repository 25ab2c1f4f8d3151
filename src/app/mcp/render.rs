//! JSON-RPC answers of the MCP endpoint, byte for byte as the reference writes them.

use crate::app::{AuditFailure, CallOutcome};
use crate::domain::decision::{Denial, rpc_code};
use crate::domain::gojson::{ObjectWriter, write_str};
use crate::domain::jsonrpc::{self, CallMeta, EnvelopeError, stub_result};
use crate::ports::UpstreamFailure;

/// The answer to a `tools/call`.
pub fn call_outcome(id: &str, outcome: CallOutcome) -> String {
    match outcome {
        CallOutcome::Stub { latency_ms } => jsonrpc::success(id, &stub_result(latency_ms)),
        CallOutcome::Forwarded {
            message,
            latency_ms,
        } => {
            let meta = CallMeta {
                reason: "forwarded".into(),
                latency_ms,
            };
            message.relay(id, Some(&meta))
        }
        CallOutcome::Accepted => jsonrpc::success(id, "{}"),
        CallOutcome::Denied(denial) => denial_error(id, &denial),
        CallOutcome::UpstreamFailed(failure) => upstream_error(id, &failure),
        CallOutcome::UpstreamGarbage(why) => garbage_error(id, &why),
        CallOutcome::AuditFailed(failure) => audit_failed(id, &failure),
    }
}

/// The call's record could not be committed, so the call is refused.
pub fn audit_failed(id: &str, failure: &AuditFailure) -> String {
    let data = json_string(&format!("{failure}; call denied (fail-closed)"));
    jsonrpc::error(
        id,
        rpc_code::INTERNAL_ERROR,
        "audit log unavailable",
        Some(&data),
    )
}

pub fn envelope_error(id: &str, e: &EnvelopeError) -> String {
    let data = e.data.as_deref().map(json_string);
    jsonrpc::error(id, e.code, &e.message, data.as_deref())
}

/// The reason as `data`; approval outcomes also carry the `pending_id`, so the agent
/// can correlate with the approval it waited for.
pub fn denial_error(id: &str, denial: &Denial) -> String {
    let data = match &denial.pending_id {
        None => json_string(&denial.reason),
        Some(pending_id) => {
            let mut out = String::new();
            let mut w = ObjectWriter::new(&mut out);
            w.str("pending_id", pending_id)
                .str("reason", &denial.reason);
            w.finish();
            out
        }
    };
    jsonrpc::error(id, denial.rpc_code(), denial.message, Some(&data))
}

/// A failed exchange: the tool server's own JSON-RPC error when its error status
/// carried one, else the reference's `upstream …` error with `detail` and status.
pub fn upstream_error(id: &str, failure: &UpstreamFailure) -> String {
    if let UpstreamFailure::Http {
        rpc_error: Some(error),
        ..
    } = failure
    {
        return format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"error\":{error}}}\n");
    }
    let mut data = String::new();
    let mut w = ObjectWriter::new(&mut data);
    w.str("detail", &failure.detail())
        .int("upstream_status", i64::from(failure.status()));
    w.finish();
    jsonrpc::error(id, rpc_code::INTERNAL_ERROR, failure.message(), Some(&data))
}

pub fn garbage_error(id: &str, why: &str) -> String {
    let data = json_string(why);
    jsonrpc::error(
        id,
        rpc_code::INTERNAL_ERROR,
        "upstream returned non-JSON-RPC body",
        Some(&data),
    )
}

/// A session that is unknown, expired or someone else's (sent with HTTP 404).
pub fn session_not_found(id: &str) -> String {
    jsonrpc::error(id, rpc_code::INVALID_REQUEST, "Session not found", None)
}

/// The session store did not answer (sent with HTTP 503: fail closed).
pub fn sessions_unavailable(id: &str) -> String {
    jsonrpc::error(
        id,
        rpc_code::INTERNAL_ERROR,
        "session store unavailable",
        None,
    )
}

/// The reference's answer to a method it does not handle.
pub fn method_not_found(id: &str, method: &str) -> String {
    let message = format!("method not implemented in v0.1: {method}");
    jsonrpc::error(id, rpc_code::METHOD_NOT_FOUND, &message, None)
}

pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_str(&mut out, s);
    out
}

//! `POST /v1/mcp`: the JSON-RPC 2.0 envelope, exactly as the reference answers it.
//! Every JSON-RPC error is HTTP 200; notifications get 204 after full processing.

use std::sync::Arc;
use std::time::Instant;

use poem::http::StatusCode;
use poem::{Body, Request, Response};

use super::tool_call::read_error_text;
use super::{MAX_BODY_BYTES, json_response};
use crate::app::{CallOutcome, Gateway, ToolCallRequest};
use crate::domain::decision::{Denial, rpc_code};
use crate::domain::gojson::{ObjectWriter, write_str};
use crate::domain::jsonrpc::{self, CallMeta, EnvelopeError, UpstreamMessage, stub_result};
use crate::ports::UpstreamFailure;

const INITIALIZE_FALLBACK: &str = r#"{"protocolVersion":"2025-03-26","serverInfo":{"name":"intentgate","version":"0.2"},"capabilities":{"tools":{}}}"#;

/// Answers one JSON-RPC request.
pub async fn handle(req: &Request, body: Body, gateway: &Arc<Gateway>) -> Response {
    let started = Instant::now();
    let bytes = match body.into_bytes_limit(MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(e) => {
            let data = json_string(&read_error_text(&e));
            let body = jsonrpc::error(
                "null",
                rpc_code::PARSE_ERROR,
                "failed to read request body",
                Some(&data),
            );
            return json_response(StatusCode::OK, body);
        }
    };
    let request = match jsonrpc::Request::parse(&bytes) {
        Ok(r) => r,
        Err(e) => return json_response(StatusCode::OK, envelope_error("null", &e)),
    };
    let id = request.id_json();
    if let Err(e) = request.validate() {
        return json_response(StatusCode::OK, envelope_error(&id, &e));
    }
    let answer = match request.method.as_str() {
        "tools/call" => tools_call(req, &request, &id, gateway, started).await,
        "initialize" | "tools/list" | "ping" => passthrough(&bytes, &request, &id, gateway).await,
        other => {
            let message = format!("method not implemented in v0.1: {other}");
            jsonrpc::error(&id, rpc_code::METHOD_NOT_FOUND, &message, None)
        }
    };
    if request.is_notification() {
        return json_response(StatusCode::NO_CONTENT, String::new());
    }
    json_response(StatusCode::OK, answer)
}

async fn tools_call(
    http: &Request,
    request: &jsonrpc::Request,
    id: &str,
    gateway: &Arc<Gateway>,
    started: Instant,
) -> String {
    let params = match jsonrpc::parse_tool_call(request.params.as_deref()) {
        Ok(p) => p,
        Err(e) => return envelope_error(id, &e),
    };
    let header = |name: &str| http.header(name).map(str::to_owned);
    let call = ToolCallRequest {
        params,
        forward_body: request.forward_body(),
        is_notification: request.is_notification(),
        authorization: header("Authorization"),
        intent_prompt: header("X-Intent-Prompt"),
        remote_addr: http
            .remote_addr()
            .as_socket_addr()
            .map(ToString::to_string)
            .unwrap_or_default(),
        started,
    };
    match gateway.tools_call(&call).await {
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
        CallOutcome::AuditFailed(failure) => {
            let data = json_string(&format!("{failure}; call denied (fail-closed)"));
            jsonrpc::error(
                id,
                rpc_code::INTERNAL_ERROR,
                "audit log unavailable",
                Some(&data),
            )
        }
    }
}

/// `initialize`, `tools/list`, `ping`: forwarded verbatim when an upstream exists,
/// answered locally otherwise. No checks, no audit (as the reference).
async fn passthrough(
    raw: &[u8],
    request: &jsonrpc::Request,
    id: &str,
    gateway: &Gateway,
) -> String {
    let Some(upstream) = &gateway.upstream else {
        let result = match request.method.as_str() {
            "initialize" => INITIALIZE_FALLBACK,
            "tools/list" => r#"{"tools":[]}"#,
            _ => "{}",
        };
        return jsonrpc::success(id, result);
    };
    match upstream.post(raw.to_vec()).await {
        Err(failure) => upstream_error(id, &failure),
        Ok(reply) => match UpstreamMessage::parse(&reply.body) {
            Ok(message) => message.relay(id, None),
            Err(why) => garbage_error(id, &why),
        },
    }
}

fn envelope_error(id: &str, e: &EnvelopeError) -> String {
    let data = e.data.as_deref().map(json_string);
    jsonrpc::error(id, e.code, &e.message, data.as_deref())
}

/// The reason as `data`; approval outcomes also carry the `pending_id`, so the agent
/// can correlate with the approval it waited for.
fn denial_error(id: &str, denial: &Denial) -> String {
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

fn upstream_error(id: &str, failure: &UpstreamFailure) -> String {
    let mut data = String::new();
    let mut w = ObjectWriter::new(&mut data);
    w.str("detail", &failure.detail())
        .int("upstream_status", i64::from(failure.status()));
    w.finish();
    jsonrpc::error(id, rpc_code::INTERNAL_ERROR, failure.message(), Some(&data))
}

fn garbage_error(id: &str, why: &str) -> String {
    let data = json_string(why);
    jsonrpc::error(
        id,
        rpc_code::INTERNAL_ERROR,
        "upstream returned non-JSON-RPC body",
        Some(&data),
    )
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_str(&mut out, s);
    out
}

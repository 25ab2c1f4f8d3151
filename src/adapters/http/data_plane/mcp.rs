//! `/v1/mcp`: the MCP Streamable HTTP transport, both protocol eras.
//!
//! POST carries one JSON-RPC message. Envelope errors keep the reference's answers
//! (JSON-RPC errors with HTTP 200); a request is answered with JSON, or with an event
//! stream when the tool server sent progress or other messages before its answer and
//! the client accepts one; notifications and client responses get 202. GET relays the
//! session's server-to-client stream, DELETE ends the session. The rules themselves
//! (sessions, relaying, filtering) live in `app::mcp`.

use std::sync::Arc;
use std::time::Instant;

use poem::http::{HeaderMap, StatusCode, header};
use poem::{Body, Request, Response};
use serde_json::value::RawValue;

use super::mcp_stream::{self, Negotiated};
use super::tool_call::read_error_text;
use crate::adapters::http::MAX_BODY_BYTES;
use crate::adapters::http::wire::json_response;
use crate::app::Gateway;
use crate::app::mcp::{
    EndOutcome, ListenOutcome, McpCall, McpReply, Refusal, envelope_error, json_string,
};
use crate::domain::decision::rpc_code;
use crate::domain::gojson::go_lossy_utf8;
use crate::domain::jsonrpc;
use crate::domain::mcp::{
    BodyFacts, Era, HeaderMismatch, MetadataHeaders, STATELESS_VERSION, SUPPORTED_VERSIONS,
    check_request_metadata, is_supported_version,
};
use crate::domain::oauth::{Challenge, ProtectedResource};
use crate::ports::UpstreamHeaders;

pub const SESSION_HEADER: &str = "Mcp-Session-Id";
const VERSION_HEADER: &str = "MCP-Protocol-Version";

/// Answers one POSTed JSON-RPC message.
pub async fn post(req: &Request, body: Body, gateway: &Arc<Gateway>) -> Response {
    let started = Instant::now();
    if let Some(refused) = refuse_origin(req, gateway) {
        return refused;
    }
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
    if let Some(e) = (!request.is_response())
        .then(|| request.validate().err())
        .flatten()
    {
        return json_response(StatusCode::OK, envelope_error(&id, &e));
    }
    let headers = req.headers();
    let version = header_text(headers, VERSION_HEADER);
    if let Some(v) = version.as_deref().filter(|v| !is_supported_version(v)) {
        return refusal(StatusCode::BAD_REQUEST, unsupported_version(&id, v));
    }
    let tool_call = (request.method == "tools/call")
        .then(|| jsonrpc::parse_tool_call(request.params.as_deref()));
    let facts = ParamFacts::of(
        &request.method,
        request.params.as_deref(),
        tool_call.as_ref(),
    );
    let era = Era::of(
        &request.method,
        version.as_deref(),
        facts.version.as_deref(),
    );
    let metadata = MetadataHeaders {
        protocol_version: version.as_deref(),
        method: header_str(headers, "Mcp-Method"),
        name: header_str(headers, "Mcp-Name"),
    };
    let body_facts = BodyFacts {
        method: &request.method,
        name: facts.name.as_deref(),
        meta_version: facts.version.as_deref(),
    };
    let required = era == Era::Stateless && !request.is_notification() && !request.is_response();
    let checked = repeated_metadata(headers)
        .map_or(Ok(()), Err)
        .and_then(|()| check_request_metadata(&body_facts, &metadata, required));
    if let Err(mismatch) = checked {
        let data = None;
        let body = jsonrpc::error(&id, rpc_code::HEADER_MISMATCH, &mismatch.to_string(), data);
        return refusal(StatusCode::BAD_REQUEST, body);
    }
    let streams = accepts_event_stream(headers) && request.method != "initialize";
    let call = McpCall {
        authorization: presented(headers, "Authorization"),
        intent_prompt: presented(headers, "X-Intent-Prompt"),
        remote_addr: req
            .remote_addr()
            .as_socket_addr()
            .map(ToString::to_string)
            .unwrap_or_default(),
        started,
        era,
        session_id: session_header(headers).filter(|_| era == Era::Legacy),
        upstream_headers: UpstreamHeaders {
            protocol_version: version,
            request_metadata: request_metadata(headers),
            ..UpstreamHeaders::default()
        },
        interim: None,
        request,
        tool_call,
    };
    // Boxed: the call's future is kilobytes, and each layer of the server around this
    // handler would copy it as it wraps it.
    let negotiated = Box::pin(mcp_stream::negotiate(Arc::clone(gateway), call, streams));
    match negotiated.await {
        Negotiated::Whole(reply) => reply_response(reply, gateway),
        Negotiated::Stream(response) => response,
    }
}

/// GET: the session's server-to-client stream, relayed from the tool server.
pub async fn get(req: &Request, gateway: &Arc<Gateway>) -> Response {
    if let Some(refused) = refuse_session_request(req, gateway) {
        return refused;
    }
    let headers = req.headers();
    let upstream = UpstreamHeaders {
        protocol_version: header_text(headers, VERSION_HEADER),
        last_event_id: header_text(headers, "Last-Event-ID"),
        ..UpstreamHeaders::default()
    };
    let outcome = gateway
        .mcp_listen(
            presented(headers, "Authorization").as_deref(),
            session_header(headers).as_deref(),
            upstream,
        )
        .await;
    match outcome {
        ListenOutcome::Stream(events) => mcp_stream::relay_events(events),
        ListenOutcome::NotOffered => not_offered(),
        ListenOutcome::Refused { refusal: r, body } => refused(r, body, gateway),
    }
}

/// DELETE: ends the caller's session, here and on the tool server.
pub async fn delete(req: &Request, gateway: &Arc<Gateway>) -> Response {
    if let Some(refused) = refuse_session_request(req, gateway) {
        return refused;
    }
    let headers = req.headers();
    let outcome = gateway
        .mcp_end(
            presented(headers, "Authorization").as_deref(),
            session_header(headers).as_deref(),
        )
        .await;
    match outcome {
        EndOutcome::Ended => Response::builder().status(StatusCode::OK).finish(),
        EndOutcome::NotOffered => not_offered(),
        EndOutcome::Refused { refusal: r, body } => refused(r, body, gateway),
    }
}

/// What GET and DELETE refuse before anything else: a foreign origin, and a protocol
/// version without sessions or not served.
fn refuse_session_request(req: &Request, gateway: &Gateway) -> Option<Response> {
    refuse_origin(req, gateway).or_else(|| refuse_stream_version(req.headers()))
}

/// GET and DELETE exist in the 2025 protocol only: 405 in the stateless one, 400 for
/// a version the gateway does not serve (nothing reaches the tool server).
fn refuse_stream_version(headers: &HeaderMap) -> Option<Response> {
    let version = header_str(headers, VERSION_HEADER)?;
    if version == STATELESS_VERSION {
        return Some(not_offered());
    }
    let unsupported =
        !is_supported_version(version) || headers.get_all(VERSION_HEADER).iter().count() > 1;
    unsupported.then(|| {
        refusal(
            StatusCode::BAD_REQUEST,
            unsupported_version("null", version),
        )
    })
}

/// The HTTP form of a reply that was not streamed.
pub fn reply_response(reply: McpReply, gateway: &Gateway) -> Response {
    match reply {
        McpReply::Answer { body, session_id } => {
            let mut response = json_response(StatusCode::OK, body);
            if let Some(value) = session_id.and_then(|id| id.parse().ok()) {
                response.headers_mut().insert(SESSION_HEADER, value);
            }
            response
        }
        McpReply::Accepted => Response::builder().status(StatusCode::ACCEPTED).finish(),
        McpReply::Refused { refusal: r, body } => refused(r, body, gateway),
    }
}

/// A refusal's response; a challenge adds `WWW-Authenticate`.
fn refused(refusal: Refusal, body: String, gateway: &Gateway) -> Response {
    let mut response = json_response(status_of(&refusal), body);
    if let (Refusal::Challenge(challenge), Some(tokens)) = (&refusal, &gateway.access_tokens) {
        let resource = ProtectedResource::of(tokens.rules());
        if let Ok(value) = resource.challenge_header(challenge).parse() {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
    }
    response
}

fn status_of(refusal: &Refusal) -> StatusCode {
    match refusal {
        Refusal::Challenge(Challenge::InsufficientScope(_)) => StatusCode::FORBIDDEN,
        Refusal::Challenge(_) => StatusCode::UNAUTHORIZED,
        Refusal::Unauthorized => StatusCode::UNAUTHORIZED,
        Refusal::NotFound => StatusCode::NOT_FOUND,
        Refusal::BadGateway => StatusCode::BAD_GATEWAY,
        Refusal::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

fn refusal(status: StatusCode, body: String) -> Response {
    json_response(status, body)
}

/// 405: there is no stream (or session) here to open or end; POST is what works.
fn not_offered() -> Response {
    Response::builder()
        .status(StatusCode::METHOD_NOT_ALLOWED)
        .header(header::ALLOW, "POST")
        .content_type("text/plain; charset=utf-8")
        .body("Method Not Allowed\n")
}

/// -32022 with the versions served, as the 2026-07-28 protocol asks.
fn unsupported_version(id: &str, requested: &str) -> String {
    let supported: Vec<String> = SUPPORTED_VERSIONS.iter().map(|v| json_string(v)).collect();
    let data = format!(
        "{{\"requested\":{},\"supported\":[{}]}}",
        json_string(requested),
        supported.join(",")
    );
    jsonrpc::error(
        id,
        rpc_code::UNSUPPORTED_PROTOCOL_VERSION,
        "Unsupported protocol version",
        Some(&data),
    )
}

/// A browser page on another site must not drive a gateway on this machine (DNS
/// rebinding): an `Origin` that is neither loopback nor allowed is refused. Clients
/// that are not browsers send no `Origin`.
fn refuse_origin(req: &Request, gateway: &Gateway) -> Option<Response> {
    let origin = header_str(req.headers(), "Origin")?;
    if origin_allowed(origin, &gateway.mcp.allowed_origins) {
        return None;
    }
    let body = jsonrpc::error(
        "null",
        rpc_code::INVALID_REQUEST,
        "Origin not allowed",
        Some(&json_string(origin)),
    );
    Some(refusal(StatusCode::FORBIDDEN, body))
}

/// Loopback origins (`http://localhost:6274`, `http://127.0.0.1`, `http://[::1]:3000`)
/// and the configured ones pass; `*` lets every origin in.
pub fn origin_allowed(origin: &str, allowed: &[String]) -> bool {
    if allowed
        .iter()
        .any(|a| a == "*" || a.eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    let host = match rest.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => rest.split(':').next().unwrap_or_default(),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn accepts_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("text/event-stream")
        })
}

/// A request metadata header sent twice: which of its values would the tool server
/// act on? Refused rather than guessed.
fn repeated_metadata(headers: &HeaderMap) -> Option<HeaderMismatch> {
    let metadata = |name: &str| {
        name == "mcp-method"
            || name == "mcp-name"
            || name == "mcp-protocol-version"
            || name.starts_with("mcp-param-")
    };
    headers
        .keys()
        .find(|name| metadata(name.as_str()) && headers.get_all(*name).iter().count() > 1)
        .map(|name| HeaderMismatch(format!("{name} header sent more than once")))
}

/// `Mcp-Method`, `Mcp-Name` and every `Mcp-Param-*`, in the order received.
fn request_metadata(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| {
            let name = name.as_str();
            name == "mcp-method" || name == "mcp-name" || name.starts_with("mcp-param-")
        })
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect()
}

/// The `Mcp-Session-Id` presented, even one that is not text (it then matches no
/// session, so the client hears 404 rather than being served outside its session).
fn session_header(headers: &HeaderMap) -> Option<String> {
    presented(headers, SESSION_HEADER)
}

/// A header the caller sent, whatever its bytes: what is not UTF-8 becomes U+FFFD. A
/// credential that cannot be read is then refused like any other bad token; reading it
/// as absent would let it through wherever no token is required.
fn presented(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| go_lossy_utf8(v.as_bytes()).into_owned())
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    header_str(headers, name).map(str::to_owned)
}

/// What `params` says that the transport checks: the target's name and the
/// protocol version in `_meta`.
#[derive(Default)]
struct ParamFacts {
    name: Option<String>,
    version: Option<String>,
}

impl ParamFacts {
    /// The target as the gateway reads it: for `tools/call` the name its pipeline
    /// checks (Go's reading), for `prompts/get` and `resources/read` the exact member a
    /// tool server reads. Params that cannot be read name nothing, so a header naming
    /// something disagrees with them. `tool_call`: the `tools/call` params, read once
    /// for the pipeline too.
    fn of(
        method: &str,
        params: Option<&RawValue>,
        tool_call: Option<&Result<jsonrpc::ToolCallParams, jsonrpc::EnvelopeError>>,
    ) -> Self {
        #[derive(serde::Deserialize)]
        struct Params {
            name: Option<serde_json::Value>,
            uri: Option<serde_json::Value>,
            #[serde(rename = "_meta")]
            meta: Option<Meta>,
        }
        #[derive(serde::Deserialize)]
        struct Meta {
            #[serde(rename = "io.modelcontextprotocol/protocolVersion")]
            version: Option<serde_json::Value>,
        }
        let text = |v: Option<serde_json::Value>| v.and_then(|v| v.as_str().map(str::to_owned));
        let parsed = params.and_then(|p| serde_json::from_str::<Params>(p.get()).ok());
        let version = parsed
            .as_ref()
            .and_then(|p| text(p.meta.as_ref()?.version.clone()));
        let name = match method {
            "tools/call" => tool_call
                .and_then(|p| p.as_ref().ok())
                .map(|p| p.name.clone()),
            "prompts/get" => parsed.and_then(|p| text(p.name)),
            "resources/read" => parsed.and_then(|p| text(p.uri)),
            _ => None,
        };
        Self { name, version }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_listed_origins_pass_others_do_not() {
        let none: Vec<String> = vec![];
        for ok in [
            "http://localhost:6274",
            "http://127.0.0.1",
            "https://127.0.0.1:8443",
            "http://[::1]:3000",
        ] {
            assert!(origin_allowed(ok, &none), "{ok}");
        }
        for bad in [
            "http://evil.example",
            "http://localhost.evil.example",
            "http://127.evil.example",
            "null",
            "file://",
        ] {
            assert!(!origin_allowed(bad, &none), "{bad}");
        }
        let listed = vec!["https://console.example.com".to_owned()];
        assert!(origin_allowed("https://console.example.com", &listed));
        assert!(!origin_allowed("https://other.example.com", &listed));
        assert!(origin_allowed("https://anything", &["*".to_owned()]));
    }
}

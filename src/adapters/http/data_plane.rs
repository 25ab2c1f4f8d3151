//! The data plane in the OpenAPI document: `POST /v1/mcp` (JSON-RPC 2.0) and the
//! legacy `POST /v1/tool-call`, described so a generated client can call them. The
//! handlers answer with exact bytes, so their responses are documented by hand.

use std::sync::Arc;

use poem::Request;
use poem::web::Data;
use poem_openapi::param::Header;
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{Object, OpenApi};

use super::documented::{Body, Documented, Statuses};
use super::tags::ApiTags;
use super::wire::UnreadBody;
use super::{mcp, tool_call};
use crate::app::Gateway;

/// A JSON-RPC 2.0 message. `tools/call` runs the authorization pipeline; its
/// `params` are `{"name": "<tool>", "arguments": {…}}`. `initialize` opens a session
/// (`Mcp-Session-Id`); `tools/list` lists only the tools the token allows; `ping`,
/// `server/discover`, `resources/*`, `prompts/*`, `completion/*` and `logging/*` are
/// relayed to the tool server.
#[derive(Object)]
pub struct JsonRpcRequest {
    pub jsonrpc: String,
    /// Absent for a notification (answered 202).
    pub id: Option<serde_json::Value>,
    pub method: String,
    pub params: Option<serde_json::Value>,
}

/// A JSON-RPC error. Codes: -32700 parse, -32600 invalid request, -32601 unknown
/// method, -32602 invalid params, -32603 internal/upstream, -32010 capability,
/// -32011 intent, -32012 policy (`data.pending_id` when a human was asked),
/// -32013 budget.
#[derive(Object)]
pub struct JsonRpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<serde_json::Value>,
}

/// A JSON-RPC 2.0 response: `result` (with `_intentgate` metadata) or `error`.
/// Errors are HTTP 200 too.
#[derive(Object)]
pub struct JsonRpcResponse {
    pub jsonrpc: String,
    pub id: Option<serde_json::Value>,
    pub result: Option<serde_json::Value>,
    pub error: Option<JsonRpcError>,
}

/// The legacy tool-call request.
#[derive(Object)]
pub struct ToolCallRequest {
    #[oai(validator(min_length = 1))]
    pub tool: String,
    pub args: Option<serde_json::Value>,
}

/// The legacy stub's answer (`decision` is always `allow`).
#[derive(Object)]
pub struct ToolCallResponse {
    pub decision: String,
    pub reason: String,
    pub latency_ms: i64,
}

/// The legacy endpoint's refusal of a malformed body.
#[derive(Object)]
pub struct ToolCallError {
    pub detail: String,
    /// `read_body_failed`, `invalid_json` or `missing_tool`.
    pub error: String,
}

fn rpc() -> MetaSchemaRef {
    JsonRpcResponse::schema_ref()
}

/// POST `/v1/mcp`.
pub struct McpStatuses;

impl Statuses for McpStatuses {
    const LIST: &'static [(u16, &'static str, Body)] = &[
        (
            200,
            "The answer (JSON-RPC errors included); an event stream when the tool server \
             sends progress or other messages before it and the client accepts one",
            Body::JsonOrStream(rpc),
        ),
        (
            202,
            "A notification or a client's response, passed on",
            Body::Empty,
        ),
        (
            400,
            "An unsupported MCP-Protocol-Version (-32022) or request headers that disagree \
             with the body (-32020)",
            Body::Json(rpc),
        ),
        (
            401,
            "A notification whose token does not verify",
            Body::Json(rpc),
        ),
        (403, "An Origin that is not allowed", Body::Json(rpc)),
        (
            404,
            "An unknown, expired or foreign Mcp-Session-Id (initialize again), or an \
             unknown method in the 2026-07-28 protocol",
            Body::Json(rpc),
        ),
        (
            502,
            "The tool server refused a notification",
            Body::Json(rpc),
        ),
        (503, "The session store did not answer", Body::Json(rpc)),
    ];

    fn register(registry: &mut Registry) {
        JsonRpcResponse::register(registry);
    }
}

/// Answers GET and DELETE share before they differ.
const VERSION_REFUSED: (u16, &str, Body) = (
    400,
    "An MCP-Protocol-Version the gateway does not serve",
    Body::Json(rpc),
);
const TOKEN_REFUSED: (u16, &str, Body) = (401, "The token does not verify", Body::Json(rpc));
const ORIGIN_REFUSED: (u16, &str, Body) = (403, "An Origin that is not allowed", Body::Json(rpc));
const NO_SESSION: (u16, &str, Body) = (
    404,
    "An unknown, expired or foreign session",
    Body::Json(rpc),
);
const SESSIONS_DOWN: (u16, &str, Body) = (503, "The session store did not answer", Body::Json(rpc));

/// GET `/v1/mcp`.
pub struct StreamStatuses;

impl Statuses for StreamStatuses {
    const LIST: &'static [(u16, &'static str, Body)] = &[
        (200, "The session's event stream", Body::Stream),
        VERSION_REFUSED,
        TOKEN_REFUSED,
        ORIGIN_REFUSED,
        NO_SESSION,
        (
            405,
            "No stream to offer: no tool server, no session, the tool server has none, or \
             the 2026-07-28 protocol",
            Body::Text,
        ),
        (502, "The tool server failed", Body::Json(rpc)),
        SESSIONS_DOWN,
    ];

    fn register(registry: &mut Registry) {
        JsonRpcResponse::register(registry);
    }
}

/// DELETE `/v1/mcp`.
pub struct EndStatuses;

impl Statuses for EndStatuses {
    const LIST: &'static [(u16, &'static str, Body)] = &[
        (200, "The session ended", Body::Empty),
        VERSION_REFUSED,
        TOKEN_REFUSED,
        ORIGIN_REFUSED,
        NO_SESSION,
        (
            405,
            "No session named, or the 2026-07-28 protocol",
            Body::Text,
        ),
        SESSIONS_DOWN,
    ];

    fn register(registry: &mut Registry) {
        JsonRpcResponse::register(registry);
    }
}

/// POST `/v1/tool-call`.
pub struct ToolCallStatuses;

impl Statuses for ToolCallStatuses {
    const LIST: &'static [(u16, &'static str, Body)] = &[
        (
            200,
            "The stub's answer",
            Body::Json(ToolCallResponse::schema_ref),
        ),
        (
            400,
            "A malformed body",
            Body::Json(ToolCallError::schema_ref),
        ),
    ];

    fn register(registry: &mut Registry) {
        ToolCallResponse::register(registry);
        ToolCallError::register(registry);
    }
}

pub struct DataPlaneApi;

#[OpenApi(tag = "ApiTags::DataPlane")]
impl DataPlaneApi {
    /// MCP over JSON-RPC 2.0. Send the capability token as
    /// `Authorization: Bearer <token>`.
    #[oai(path = "/v1/mcp", method = "post", operation_id = "mcp")]
    async fn mcp(
        &self,
        req: &Request,
        gateway: Data<&Arc<Gateway>>,
        _token: CapabilityToken,
        /// The user's request in natural language, for the intent check.
        #[oai(name = "X-Intent-Prompt")]
        _intent_prompt: Header<Option<String>>,
        body: UnreadBody<JsonRpcRequest>,
    ) -> Documented<McpStatuses> {
        Documented::new(mcp::post(req, body.body, &gateway).await)
    }

    /// The MCP session's server-to-client event stream (protocol 2025-03-26 to
    /// 2025-11-25), relayed from the tool server. Needs the `Mcp-Session-Id` that
    /// `initialize` returned; 405 when there is no stream to offer.
    #[oai(path = "/v1/mcp", method = "get", operation_id = "mcpStream")]
    async fn mcp_stream(
        &self,
        req: &Request,
        gateway: Data<&Arc<Gateway>>,
        _token: CapabilityToken,
        /// The session `initialize` opened.
        #[oai(name = "Mcp-Session-Id")]
        _session: Header<Option<String>>,
    ) -> Documented<StreamStatuses> {
        Documented::new(mcp::get(req, &gateway).await)
    }

    /// Ends the MCP session, on the tool server too.
    #[oai(path = "/v1/mcp", method = "delete", operation_id = "mcpEndSession")]
    async fn mcp_end_session(
        &self,
        req: &Request,
        gateway: Data<&Arc<Gateway>>,
        _token: CapabilityToken,
        /// The session to end.
        #[oai(name = "Mcp-Session-Id")]
        _session: Header<Option<String>>,
    ) -> Documented<EndStatuses> {
        Documented::new(mcp::delete(req, &gateway).await)
    }

    /// The reference's legacy endpoint: validates the body, checks nothing, forwards
    /// nothing.
    #[oai(
        path = "/v1/tool-call",
        method = "post",
        operation_id = "legacyToolCall"
    )]
    async fn tool_call(&self, body: UnreadBody<ToolCallRequest>) -> Documented<ToolCallStatuses> {
        Documented::new(tool_call::handle(body.body).await)
    }
}

/// Documents the capability token on `/v1/mcp`; the pipeline reads and checks it, so
/// extraction never fails here.
pub struct CapabilityToken;

impl<'a> poem_openapi::ApiExtractor<'a> for CapabilityToken {
    const TYPES: &'static [poem_openapi::ApiExtractorType] =
        &[poem_openapi::ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        registry.create_security_scheme(
            "CapabilityToken",
            poem_openapi::registry::MetaSecurityScheme {
                ty: "http",
                description: Some(
                    "A capability token minted by POST /v1/admin/mint or igctl mint \
                     (and possibly attenuated by an SDK).",
                ),
                name: None,
                key_in: None,
                scheme: Some("bearer"),
                bearer_format: None,
                flows: None,
                openid_connect_url: None,
            },
        );
    }

    fn security_schemes() -> Vec<&'static str> {
        vec!["CapabilityToken"]
    }

    /// Optional: without `INTENTGATE_REQUIRE_CAPABILITY=true` a call may carry none.
    fn has_security_fallback() -> bool {
        true
    }

    async fn from_request(
        _: &'a Request,
        _: &mut poem::RequestBody,
        _: poem_openapi::ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        Ok(Self)
    }
}

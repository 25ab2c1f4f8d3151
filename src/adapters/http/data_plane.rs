//! The data plane in the OpenAPI document: `POST /v1/mcp` (JSON-RPC 2.0) and the
//! legacy `POST /v1/tool-call`, described so a generated client can call them. The
//! handlers answer with exact bytes, so their responses are documented by hand.

use std::sync::Arc;

use poem::web::Data;
use poem::{IntoResponse, Request, Response};
use poem_openapi::param::Header;
use poem_openapi::registry::{
    MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::api::ApiTags;
use super::wire::RawBody;
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

/// A handler's response, passed through untouched; `T` documents the 200 body.
pub struct Passthrough<T>(Response, std::marker::PhantomData<fn() -> T>);

impl<T> IntoResponse for Passthrough<T> {
    fn into_response(self) -> Response {
        self.0
    }
}

impl<T: Type> ApiResponse for Passthrough<T> {
    fn meta() -> MetaResponses {
        let json = |status, description| MetaResponse {
            description,
            status: Some(status),
            status_range: None,
            content: vec![MetaMediaType {
                content_type: "application/json",
                schema: T::schema_ref(),
            }],
            headers: vec![],
        };
        let empty = |status, description| MetaResponse {
            description,
            status: Some(status),
            status_range: None,
            content: vec![],
            headers: vec![],
        };
        MetaResponses {
            responses: vec![
                MetaResponse {
                    content: vec![
                        MetaMediaType {
                            content_type: "application/json",
                            schema: T::schema_ref(),
                        },
                        MetaMediaType {
                            content_type: "text/event-stream",
                            schema: MetaSchemaRef::Inline(Box::new(MetaSchema::new("string"))),
                        },
                    ],
                    ..json(
                        200,
                        "The answer (JSON-RPC errors included); an event stream when the \
                         tool server sends progress or other messages before it",
                    )
                },
                empty(202, "A notification or a client's response, passed on"),
                json(
                    400,
                    "Malformed request (legacy endpoint), an unsupported MCP-Protocol-Version (-32022) or request headers that disagree with the body (-32020)",
                ),
                json(401, "A notification with a token that does not verify"),
                json(403, "An Origin that is not allowed"),
                json(
                    404,
                    "An unknown, expired or foreign Mcp-Session-Id: initialize again",
                ),
            ],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// The statuses an operation that answers with bodies written elsewhere documents.
pub trait Statuses {
    const LIST: &'static [(u16, &'static str)];
}

/// A response made by a handler, documented by the statuses of `S`.
pub struct Documented<S>(Response, std::marker::PhantomData<fn() -> S>);

impl<S> Documented<S> {
    fn new(response: Response) -> Self {
        Self(response, std::marker::PhantomData)
    }
}

impl<S> IntoResponse for Documented<S> {
    fn into_response(self) -> Response {
        self.0
    }
}

impl<S: Statuses> ApiResponse for Documented<S> {
    fn meta() -> MetaResponses {
        let responses = S::LIST
            .iter()
            .map(|&(status, description)| MetaResponse {
                description,
                status: Some(status),
                status_range: None,
                content: vec![],
                headers: vec![],
            })
            .collect();
        MetaResponses { responses }
    }

    fn register(_: &mut Registry) {}
}

/// GET `/v1/mcp`.
pub struct StreamStatuses;

impl Statuses for StreamStatuses {
    const LIST: &'static [(u16, &'static str)] = &[
        (200, "The session's event stream (text/event-stream)"),
        (400, "An MCP-Protocol-Version the gateway does not serve"),
        (401, "The token does not verify"),
        (404, "An unknown, expired or foreign session"),
        (
            405,
            "No stream to offer: no tool server, no session, the tool server has none, or the 2026-07-28 protocol",
        ),
    ];
}

/// DELETE `/v1/mcp`.
pub struct EndStatuses;

impl Statuses for EndStatuses {
    const LIST: &'static [(u16, &'static str)] = &[
        (200, "The session ended"),
        (400, "An MCP-Protocol-Version the gateway does not serve"),
        (401, "The token does not verify"),
        (404, "An unknown, expired or foreign session"),
        (405, "No session named, or the 2026-07-28 protocol"),
    ];
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
        body: RawBody<JsonRpcRequest>,
    ) -> Passthrough<JsonRpcResponse> {
        Passthrough(
            mcp::post(req, body.body, &gateway).await,
            std::marker::PhantomData,
        )
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
    async fn tool_call(&self, body: RawBody<ToolCallRequest>) -> Passthrough<ToolCallResponse> {
        Passthrough(tool_call::handle(body.body).await, std::marker::PhantomData)
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

    async fn from_request(
        _: &'a Request,
        _: &mut poem::RequestBody,
        _: poem_openapi::ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        Ok(Self)
    }
}

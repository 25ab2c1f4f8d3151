//! The data plane in the OpenAPI document: `POST /v1/mcp` (JSON-RPC 2.0) and the
//! legacy `POST /v1/tool-call`, described so a generated client can call them. The
//! handlers answer with exact bytes, so their responses are documented by hand
//! (`statuses`).

mod capability_token;
mod dto;
mod mcp;
mod mcp_stream;
mod statuses;
mod tool_call;

use std::sync::Arc;

use poem::http::Method;
use poem::web::Data;
use poem::{Endpoint, IntoResponse, PathPattern, Request, Response};
use poem_openapi::OpenApi;
use poem_openapi::param::Header;

use self::capability_token::CapabilityToken;
use self::dto::{JsonRpcRequest, ToolCallRequest};
use self::statuses::{EndStatuses, McpStatuses, StreamStatuses, ToolCallStatuses};
use crate::adapters::http::documented::Documented;
use crate::adapters::http::tags::ApiTags;
use crate::adapters::http::wire::UnreadBody;
use crate::app::Gateway;

pub struct DataPlaneApi;

/// `POST /v1/mcp` straight to its handler, every other method on the path to
/// `documented` (the OpenAPI service). The service reaches the same handler through a
/// dozen boxed layers (its router, the operation's extractors, none of which can refuse
/// this operation), each moving the call's future into a box of its own.
pub struct McpPost<E> {
    pub documented: E,
}

impl<E: Endpoint> Endpoint for McpPost<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        match req.data::<Arc<Gateway>>().cloned() {
            Some(gateway) if req.method() == Method::POST => {
                let body = req.take_body();
                Ok(mcp::post(&req, body, &gateway).await)
            }
            _ => {
                // The service's own router would append its pattern to this route's,
                // naming the route `/v1/mcp/v1/mcp` to poem's tracing and metrics.
                req.extensions_mut().remove::<PathPattern>();
                self.documented
                    .call(req)
                    .await
                    .map(IntoResponse::into_response)
            }
        }
    }
}

#[OpenApi(tag = "ApiTags::DataPlane")]
impl DataPlaneApi {
    /// MCP over JSON-RPC 2.0. Send the capability token, or an OAuth access token
    /// issued for this gateway, as `Authorization: Bearer <token>`.
    // Served by `McpPost` on the same handler; this operation documents it.
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

#[cfg(test)]
mod tests {
    use poem::endpoint::make_sync;
    use poem::http::Method;
    use poem::{Endpoint, Request, Route};

    use super::{McpPost, PathPattern};

    #[tokio::test]
    async fn other_methods_reach_the_service_under_the_routes_own_pattern() {
        let seen = |req: &Request| req.data::<PathPattern>().map(|p| p.0.to_string());
        let service = Route::new().at(
            "/v1/mcp",
            make_sync(move |req| seen(&req).unwrap_or_default()),
        );
        let routes = Route::new().at(
            "/v1/mcp",
            McpPost {
                documented: service,
            },
        );
        let req = Request::builder()
            .method(Method::GET)
            .uri_str("/v1/mcp")
            .finish();
        let answer = routes.call(req).await;
        let (text, answered) = match answer {
            Ok(r) => {
                let answered = r.data::<PathPattern>().map(|p| p.0.to_string());
                (
                    r.into_body().into_string().await.unwrap_or_default(),
                    answered,
                )
            }
            Err(e) => (e.to_string(), None),
        };
        assert_eq!(text, "/v1/mcp", "the pattern the service saw");
        // What poem's metrics middleware reads, from the answer.
        assert_eq!(answered.as_deref(), Some("/v1/mcp"));
    }
}

//! What each data-plane operation answers, status by status, for the document: the
//! handlers write exact bytes, so poem-openapi cannot derive these.

use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;

use super::dto::{JsonRpcResponse, ToolCallErrorResponse, ToolCallResponse};
use crate::adapters::http::documented::{Body, Statuses};

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
            "A notification whose token does not verify; with OAuth sign-in, a missing, \
             invalid or expired access token (WWW-Authenticate names the metadata)",
            Body::Json(rpc),
        ),
        (
            403,
            "An Origin that is not allowed; with OAuth sign-in, an access token without \
             the tool's scope (WWW-Authenticate: error=\"insufficient_scope\")",
            Body::Json(rpc),
        ),
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
const TOKEN_REFUSED: (u16, &str, Body) = (
    401,
    "The token does not verify (with OAuth sign-in: WWW-Authenticate names the metadata)",
    Body::Json(rpc),
);
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
            Body::Json(ToolCallErrorResponse::schema_ref),
        ),
    ];

    fn register(registry: &mut Registry) {
        ToolCallResponse::register(registry);
        ToolCallErrorResponse::register(registry);
    }
}

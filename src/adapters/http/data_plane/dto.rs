//! The data plane's bodies as the document describes them. The handlers read and write
//! the bytes themselves (the reference's exact answers), so these only document.

use poem_openapi::Object;

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
pub struct ToolCallErrorResponse {
    pub detail: String,
    /// `read_body_failed`, `invalid_json` or `missing_tool`.
    pub error: String,
}

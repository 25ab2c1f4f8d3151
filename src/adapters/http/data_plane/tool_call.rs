//! `POST /v1/tool-call`: the reference's legacy stub. It checks nothing and forwards
//! nothing; it exists so old clients get the answers they expect.

use std::time::Instant;

use poem::http::StatusCode;
use poem::{Body, Response};
use serde_json::Value;

use crate::adapters::http::MAX_BODY_BYTES;
use crate::adapters::http::wire::json_response;
use crate::domain::gojson::{ObjectWriter, go_json_text, kind_name, syntax_error};

/// Answers one legacy tool-call request.
pub async fn handle(body: Body) -> Response {
    let started = Instant::now();
    let bytes = match body.into_bytes_limit(MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(e) => return bad_request("read_body_failed", &read_error_text(&e)),
    };
    let text = go_json_text(&bytes);
    let tool = match serde_json::from_str::<Value>(&text) {
        Err(e) => return bad_request("invalid_json", &syntax_error(&text, &e)),
        Ok(Value::Object(m)) => m.get("tool").cloned(),
        Ok(other) => {
            let msg = format!(
                "json: cannot unmarshal {} into Go value of type handlers.ToolCallRequest",
                kind_name(&other)
            );
            return bad_request("invalid_json", &msg);
        }
    };
    match tool {
        Some(Value::String(t)) if !t.is_empty() => {}
        Some(Value::String(_) | Value::Null) | None => {
            return bad_request("missing_tool", "tool field is required");
        }
        Some(other) => {
            let msg = format!(
                "json: cannot unmarshal {} into Go struct field ToolCallRequest.tool of type string",
                kind_name(&other)
            );
            return bad_request("invalid_json", &msg);
        }
    }
    let mut out = String::new();
    let mut w = ObjectWriter::new(&mut out);
    w.str("decision", "allow")
        .str("reason", "stub: pipeline not implemented");
    w.int(
        "latency_ms",
        i64::try_from(started.elapsed().as_millis()).unwrap_or(0),
    );
    w.finish();
    out.push('\n');
    json_response(StatusCode::OK, out)
}

/// Go's text for a body over the limit.
pub(super) fn read_error_text(e: &poem::error::ReadBodyError) -> String {
    match e {
        poem::error::ReadBodyError::PayloadTooLarge => "http: request body too large".into(),
        other => other.to_string(),
    }
}

fn bad_request(code: &str, detail: &str) -> Response {
    let mut out = String::new();
    let mut w = ObjectWriter::new(&mut out);
    w.str("detail", detail).str("error", code);
    w.finish();
    out.push('\n');
    json_response(StatusCode::BAD_REQUEST, out)
}

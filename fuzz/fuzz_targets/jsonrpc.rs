//! The JSON-RPC envelope and `tools/call` params, as the MCP endpoint reads a body.
#![no_main]

use intentgate::domain::jsonrpc::{Request, parse_tool_call};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = Request::parse(data) else {
        return;
    };
    let _ = request.validate();
    let _ = request.id_json();
    // What is forwarded is always JSON: invalid UTF-8 and lone surrogate escapes were
    // read as Go reads them (U+FFFD) before anything else saw the body. (Checked as
    // syntax: numbers pass through as written, `1e999999` included, as in Go.)
    let forwarded = request.forward_body();
    assert!(
        serde_json::from_str::<&serde_json::value::RawValue>(&forwarded).is_ok(),
        "the forwarded body is JSON: {forwarded}"
    );
    let _ = parse_tool_call(request.params.as_deref());
});

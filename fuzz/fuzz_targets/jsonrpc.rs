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
    // What is forwarded is JSON whenever what came in was (raw members pass through as
    // the reference passes them, lone surrogate escapes included).
    let forwarded = request.forward_body();
    if serde_json::from_slice::<serde_json::Value>(data).is_ok() {
        assert!(
            serde_json::from_str::<serde_json::Value>(&forwarded).is_ok(),
            "the forwarded body is JSON: {forwarded}"
        );
    }
    let _ = parse_tool_call(request.params.as_deref());
});

//! `tools/call` params from the wire, built into the policy input and evaluated by the
//! embedded default policy (regorus): an answer or an error, never a panic.
#![no_main]

use std::sync::OnceLock;

use intentgate::adapters::rego::{DEFAULT_POLICY, RegoPolicies};
use intentgate::domain::jsonrpc::parse_tool_call;
use intentgate::ports::PolicyEngine;
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

fn engine() -> &'static RegoPolicies {
    static ENGINE: OnceLock<RegoPolicies> = OnceLock::new();
    ENGINE.get_or_init(|| RegoPolicies::new(DEFAULT_POLICY).expect("the default policy compiles"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(raw) = serde_json::from_str::<Box<RawValue>>(text) else {
        return;
    };
    let Ok(params) = parse_tool_call(Some(&raw)) else {
        return;
    };
    let mut input = Map::new();
    input.insert("tool".into(), Value::String(params.name.clone()));
    if !params.arguments.is_empty() {
        input.insert("args".into(), Value::Object(params.arguments.clone()));
    }
    let _ = engine().evaluate("", Value::Object(input));
});

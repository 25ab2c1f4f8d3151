//! The Go-compatible JSON writer (what is hashed and signed): any JSON value it writes
//! reads back, through serde_json, as the same value.
#![no_main]

use intentgate::domain::gojson::write_value;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let mut out = String::new();
    write_value(&mut out, &value);
    let back: Value = serde_json::from_str(&out).expect("the writer writes JSON");
    assert!(same(&value, &back), "{value} became {out}");
});

/// Equal as JSON: numbers by value (Go writes 1.0 as 1, 8e20 as 800000000000000000000),
/// everything else exactly. Parsing must round correctly for this to hold (serde_json's
/// `float_roundtrip`, as Go's strconv does); this target found that it did not.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

//! Relaying the upstream's answer to the client: the client's own `id`, unknown
//! top-level members kept, `_intentgate` metadata merged into object results.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::domain::gojson::{
    ObjectWriter, compact_html, go_json_text, syntax_error, write_str, write_value,
};

/// An upstream JSON-RPC response, members kept raw.
#[derive(Debug, Default)]
pub struct UpstreamMessage {
    pub jsonrpc: Option<String>,
    pub result: Option<Box<RawValue>>,
    pub error: Option<Box<RawValue>>,
    /// Members other than `jsonrpc`, `id`, `result`, `error`, in wire order.
    pub extras: Vec<(String, Box<RawValue>)>,
}

impl UpstreamMessage {
    /// Parses a response body; `Err` is the Go-style reason for
    /// `upstream returned non-JSON-RPC body`.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let text = go_json_text(body);
        serde_json::from_str::<GoMessage>(&text)
            .map(|m| m.0)
            .map_err(|e| {
                if e.is_data() {
                    "json: cannot unmarshal non-object into Go value of type mcp.Response".into()
                } else {
                    syntax_error(&text, &e)
                }
            })
    }

    /// Whether the upstream answered with a JSON-RPC error (still a delivery).
    pub fn is_error(&self) -> bool {
        self.error.as_ref().is_some_and(|e| e.get() != "null")
    }

    /// A response (it has `result` or `error`, even `null`, and no `method`), not a
    /// notification or a request of the server's. One request per POST means the first
    /// response on an answer's event stream is that request's.
    pub fn is_response(&self) -> bool {
        (self.result.is_some() || self.error.is_some())
            && !self
                .extras
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("method"))
    }

    /// The `error` member, compacted, when the message is an error response.
    pub fn error_json(&self) -> Option<String> {
        self.error
            .as_ref()
            .filter(|_| self.is_error())
            .map(|e| compact_html(e.get()))
    }

    /// The response for the client, with `meta` (for `tools/call`) merged into an
    /// object result.
    pub fn relay(&self, client_id_json: &str, meta: Option<&CallMeta>) -> String {
        let mut out = String::with_capacity(256);
        out.push_str("{\"jsonrpc\":");
        write_str(&mut out, self.jsonrpc.as_deref().unwrap_or("2.0"));
        out.push_str(",\"id\":");
        out.push_str(client_id_json);
        match (&self.error, &self.result) {
            (Some(error), _) if self.is_error() => {
                out.push_str(",\"error\":");
                out.push_str(&compact_html(error.get()));
            }
            (_, result) => {
                out.push_str(",\"result\":");
                out.push_str(&result_with_meta(result.as_deref(), meta));
            }
        }
        for (key, value) in &self.extras {
            out.push(',');
            write_str(&mut out, key);
            out.push(':');
            out.push_str(&compact_html(value.get()));
        }
        out.push_str("}\n");
        out
    }
}

/// `result._intentgate`: the gateway's verdict on a successful call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallMeta {
    pub reason: String,
    pub latency_ms: i64,
}

impl CallMeta {
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(80);
        let mut w = ObjectWriter::new(&mut out);
        w.str("decision", "allow").str_opt("reason", &self.reason);
        w.int("latency_ms", self.latency_ms);
        w.finish();
        out
    }
}

/// An object result gets `_intentgate` (replacing any upstream value) and keys sorted
/// like Go's map encoding; any other result (array, string, null) passes unchanged.
fn result_with_meta(result: Option<&RawValue>, meta: Option<&CallMeta>) -> String {
    let Some(raw) = result else {
        return "null".into();
    };
    let Some(meta) = meta else {
        return compact_html(raw.get());
    };
    let Ok(Value::Object(mut members)) = serde_json::from_str::<Value>(raw.get()) else {
        return compact_html(raw.get());
    };
    members.remove("_intentgate");
    let meta_json = meta.to_json();
    let mut keys: Vec<&String> = members.keys().collect();
    let meta_key = "_intentgate".to_owned();
    keys.push(&meta_key);
    keys.sort();
    let mut out = String::with_capacity(raw.get().len() + meta_json.len() + 16);
    out.push('{');
    for (i, key) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(&mut out, key);
        out.push(':');
        match members.get(key) {
            Some(value) => write_value(&mut out, value),
            None => out.push_str(&meta_json),
        }
    }
    out.push('}');
    out
}

/// The stub result when no upstream is configured (exact reference bytes).
pub fn stub_result(latency_ms: i64) -> String {
    let meta = CallMeta {
        reason: "stub: no upstream configured".into(),
        latency_ms,
    };
    format!(
        "{{\"content\":[{{\"type\":\"text\",\"text\":\"stub: no upstream configured; gateway authorized this call\"}}],\"isError\":false,\"_intentgate\":{}}}",
        meta.to_json()
    )
}

struct GoMessage(UpstreamMessage);

impl<'de> de::Deserialize<'de> for GoMessage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(MessageVisitor).map(GoMessage)
    }
}

struct MessageVisitor;

impl<'de> Visitor<'de> for MessageVisitor {
    type Value = UpstreamMessage;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-RPC response object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UpstreamMessage, A::Error> {
        let mut m = UpstreamMessage::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.to_ascii_lowercase().as_str() {
                "jsonrpc" => m.jsonrpc = map.next_value::<Option<String>>()?,
                "id" => {
                    map.next_value::<de::IgnoredAny>()?;
                }
                "result" => m.result = Some(map.next_value()?),
                "error" => m.error = Some(map.next_value()?),
                _ => m.extras.push((key, map.next_value()?)),
            }
        }
        Ok(m)
    }
}

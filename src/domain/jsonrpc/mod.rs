//! JSON-RPC 2.0 as the reference gateway reads and writes it on `POST /v1/mcp`.
//!
//! Parsing follows Go's `encoding/json` into the reference's structs (keys match
//! case-insensitively in wire order, unknown members are ignored, `null` leaves a field
//! empty), and errors carry Go's texts because they are returned to clients in `data`.
//! `id` and `params` are kept as raw JSON and re-emitted compacted.

mod relay;

use std::fmt;

pub use relay::{CallMeta, UpstreamMessage, stub_result};

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::gojson::{ObjectWriter, compact_html, fold_key, go_json_text, kind_name, syntax_error};

/// A parsed request envelope.
#[derive(Debug, Default)]
pub struct Request {
    pub jsonrpc: String,
    /// Raw JSON of `id`; `None` when the member is absent (a notification).
    /// `"id": null` is `Some("null")`: answered, not a notification.
    pub id: Option<Box<RawValue>>,
    pub method: String,
    pub params: Option<Box<RawValue>>,
    /// `result` and `error`, raw: a client's answer to a request of the server's.
    pub result: Option<Box<RawValue>>,
    pub error: Option<Box<RawValue>>,
}

/// Why the envelope was rejected: JSON-RPC code, message, optional data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvelopeError {
    pub code: i64,
    pub message: String,
    pub data: Option<String>,
}

impl Request {
    /// Parses the body. `Err` is the -32700 `invalid JSON` error with Go's text.
    pub fn parse(body: &[u8]) -> Result<Self, EnvelopeError> {
        let text = go_json_text(body);
        serde_json::from_str::<GoRequest>(&text)
            .map(|r| r.0)
            .map_err(|e| EnvelopeError {
                code: super::decision::rpc_code::PARSE_ERROR,
                message: "invalid JSON".into(),
                data: Some(go_error_text(&text, &e)),
            })
    }

    pub fn is_notification(&self) -> bool {
        self.id.is_none()
    }

    /// A response the client sends to a request of the server's (a sampling or
    /// elicitation answer): `result` or `error`, and no `method`.
    pub fn is_response(&self) -> bool {
        (self.result.is_some() || self.error.is_some()) && self.method.is_empty()
    }

    /// The id to echo: the raw id compacted, or `null`.
    pub fn id_json(&self) -> String {
        self.id
            .as_ref()
            .map_or_else(|| "null".into(), |raw| compact_html(raw.get()))
    }

    /// `jsonrpc` must be `"2.0"` and `method` non-empty (-32600, no data).
    pub fn validate(&self) -> Result<(), EnvelopeError> {
        let invalid = |message: &str| EnvelopeError {
            code: super::decision::rpc_code::INVALID_REQUEST,
            message: message.into(),
            data: None,
        };
        if self.jsonrpc != "2.0" {
            return Err(invalid("\"jsonrpc\" field must be \"2.0\""));
        }
        if self.method.is_empty() {
            return Err(invalid("\"method\" field is required"));
        }
        Ok(())
    }

    /// The re-serialized envelope forwarded upstream: unknown members dropped, `id`
    /// omitted for notifications, `params` compacted. Every message is forwarded this
    /// way, never as received: the gateway reads keys as Go does (case-insensitively,
    /// the last one winning) and a tool server may read `"Method"` and `"method"` as two
    /// members, so what it runs must be exactly what was checked.
    pub fn forward_body(&self) -> String {
        let mut out = String::with_capacity(256);
        let mut w = ObjectWriter::new(&mut out);
        w.str("jsonrpc", "2.0");
        if let Some(id) = &self.id {
            w.raw("id", &compact_html(id.get()));
        }
        if self.is_response() {
            match (&self.result, &self.error) {
                (_, Some(error)) if error.get() != "null" => {
                    w.raw("error", &compact_html(error.get()))
                }
                (Some(result), _) => w.raw("result", &compact_html(result.get())),
                (None, Some(error)) => w.raw("error", &compact_html(error.get())),
                (None, None) => &mut w,
            };
            w.finish();
            return out;
        }
        w.str("method", &self.method);
        if let Some(params) = &self.params {
            w.raw("params", &compact_html(params.get()));
        }
        w.finish();
        out
    }
}

/// Go's message for a decode failure: its syntax texts, or our type-error text.
fn go_error_text(input: &str, err: &serde_json::Error) -> String {
    if err.is_data() {
        let text = err.to_string();
        return match text.rfind(" at line ") {
            Some(at) => text[..at].to_owned(),
            None => text,
        };
    }
    syntax_error(input, err)
}

/// Reads a string member like Go: `null` is a no-op, another type is an error.
fn string_member<'de, A: MapAccess<'de>>(
    map: &mut A,
    slot: &mut String,
    owner: &str,
    field: &str,
) -> Result<(), A::Error> {
    match map.next_value::<Value>()? {
        Value::String(s) => *slot = s,
        Value::Null => {}
        other => return Err(type_error(&other, owner, field, "string")),
    }
    Ok(())
}

fn type_error<E: de::Error>(value: &Value, owner: &str, field: &str, go_type: &str) -> E {
    E::custom(format!(
        "json: cannot unmarshal {} into Go struct field {owner}.{field} of type {go_type}",
        kind_name(value)
    ))
}

struct GoRequest(Request);

impl<'de> de::Deserialize<'de> for GoRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RequestVisitor).map(GoRequest)
    }
}

struct RequestVisitor;

impl<'de> Visitor<'de> for RequestVisitor {
    type Value = Request;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-RPC request object")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Request, E> {
        Ok(Request::default())
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Request, A::Error> {
        Err(de::Error::custom(
            "json: cannot unmarshal array into Go value of type mcp.Request",
        ))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Request, E> {
        Err(E::custom(
            "json: cannot unmarshal string into Go value of type mcp.Request",
        ))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Request, E> {
        Err(E::custom(
            "json: cannot unmarshal bool into Go value of type mcp.Request",
        ))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Request, E> {
        Err(E::custom(
            "json: cannot unmarshal number into Go value of type mcp.Request",
        ))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Request, E> {
        self.visit_i64(0)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Request, E> {
        self.visit_i64(0)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Request, A::Error> {
        let mut r = Request::default();
        while let Some(key) = map.next_key::<String>()? {
            match fold_key(&key).as_str() {
                "jsonrpc" => string_member(&mut map, &mut r.jsonrpc, "Request", "jsonrpc")?,
                "method" => string_member(&mut map, &mut r.method, "Request", "method")?,
                "id" => r.id = Some(map.next_value()?),
                "params" => r.params = Some(map.next_value()?),
                "result" => r.result = Some(map.next_value()?),
                "error" => r.error = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(r)
    }
}

/// `tools/call` parameters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ToolCallParams {
    pub name: String,
    pub arguments: Map<String, Value>,
}

/// Why `params` is not a usable `tools/call`: (-32602, message, data).
pub fn parse_tool_call(params: Option<&RawValue>) -> Result<ToolCallParams, EnvelopeError> {
    let invalid = |data: Option<String>, message: &str| EnvelopeError {
        code: super::decision::rpc_code::INVALID_PARAMS,
        message: message.into(),
        data,
    };
    let Some(raw) = params else {
        return Err(invalid(
            Some("unexpected end of JSON input".into()),
            "invalid tools/call params",
        ));
    };
    if let Some(key) = ambiguous_member(raw.get(), &["name", "arguments"]) {
        let why = format!("ambiguous member {key:?}: the tool server could read another");
        return Err(invalid(Some(why), "invalid tools/call params"));
    }
    let value: Value = serde_json::from_str(raw.get())
        .map_err(|e| invalid(Some(e.to_string()), "invalid tools/call params"))?;
    let parsed = match value {
        Value::Null => Ok(ToolCallParams::default()),
        Value::Object(members) => tool_call_members(members),
        other => Err(format!(
            "json: cannot unmarshal {} into Go value of type mcp.ToolCallParams",
            kind_name(&other)
        )),
    };
    let parsed = parsed.map_err(|data| invalid(Some(data), "invalid tools/call params"))?;
    if parsed.name.is_empty() {
        return Err(invalid(None, "params.name is required"));
    }
    Ok(parsed)
}

/// A member of a JSON object whose key names one of `fields` a second time, in any
/// case. Go reads such keys as one field (the last one wins); a tool server may read
/// only the exact key, or the first, and so run another tool than the one checked.
fn ambiguous_member(object: &str, fields: &[&str]) -> Option<String> {
    struct Keys(Vec<String>);
    impl<'de> de::Deserialize<'de> for Keys {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Keys;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                    let mut keys = Vec::new();
                    while let Some(key) = map.next_key::<String>()? {
                        map.next_value::<IgnoredAny>()?;
                        keys.push(key);
                    }
                    Ok(Keys(keys))
                }
            }
            d.deserialize_map(V)
        }
    }
    let keys = serde_json::from_str::<Keys>(object).ok()?.0;
    let mut seen = Vec::new();
    keys.into_iter().find(|key| {
        let folded = fold_key(key);
        let Some(field) = fields.iter().find(|f| **f == folded) else {
            return false;
        };
        let repeated = seen.contains(field);
        seen.push(*field);
        repeated
    })
}

fn tool_call_members(members: Map<String, Value>) -> Result<ToolCallParams, String> {
    let mut p = ToolCallParams::default();
    let err = |v: &Value, field: &str, ty: &str| {
        format!(
            "json: cannot unmarshal {} into Go struct field ToolCallParams.{field} of type {ty}",
            kind_name(v)
        )
    };
    for (key, value) in members {
        match (fold_key(&key).as_str(), value) {
            ("name", Value::String(s)) => p.name = s,
            ("arguments", Value::Object(m)) => p.arguments = m,
            ("name" | "arguments", Value::Null) => {}
            ("name", v) => return Err(err(&v, "name", "string")),
            ("arguments", v) => return Err(err(&v, "arguments", "map[string]interface {}")),
            _ => {}
        }
    }
    Ok(p)
}

/// `{"jsonrpc":"2.0","id":<id>,"result":<result>}` plus the encoder's newline.
pub fn success(id_json: &str, result_json: &str) -> String {
    format!("{{\"jsonrpc\":\"2.0\",\"id\":{id_json},\"result\":{result_json}}}\n")
}

/// An error response; `data_json` is already-encoded JSON (omitted when `None`).
pub fn error(id_json: &str, code: i64, message: &str, data_json: Option<&str>) -> String {
    let mut out = String::with_capacity(128);
    out.push_str("{\"jsonrpc\":\"2.0\",\"id\":");
    out.push_str(id_json);
    out.push_str(",\"error\":");
    let mut w = ObjectWriter::new(&mut out);
    w.int("code", code).str("message", message);
    if let Some(data) = data_json {
        w.raw("data", data);
    }
    w.finish();
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests;

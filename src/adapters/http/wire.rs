//! Admin wire formats: JSON written the way Go's `json.Encoder` writes it (HTML-safe
//! escaping, trailing newline, declared field order), and request bodies read raw so
//! that handlers decide — after authentication — how to reject them.

use std::marker::PhantomData;

use poem::http::StatusCode;
use poem::{IntoResponse, Request, RequestBody, Response};
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{
    MetaMediaType, MetaRequest, MetaResponse, MetaResponses, MetaSchemaRef, Registry,
};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ApiResponse, ExtractParamOptions};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::admin::ApiError;
use crate::domain::gojson::{kind_name, syntax_error};

/// Serializes `value` as Go's encoder does: `<`, `>`, `&`, U+2028 and U+2029 escaped,
/// then a newline.
pub fn go_json<T: Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    // Serializing our own DTOs into memory cannot fail: no maps with non-string keys.
    if value.serialize(&mut ser).is_err() {
        return "null\n".to_owned();
    }
    out.push(b'\n');
    String::from_utf8(out).unwrap_or_default()
}

struct GoFormatter;

impl serde_json::ser::Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let escaped = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..i])?;
            writer.write_all(escaped.as_bytes())?;
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// An `application/json` response whose body is already encoded; `T` documents it.
pub struct GoJson<T> {
    body: String,
    status: StatusCode,
    schema: PhantomData<fn() -> T>,
}

impl<T: Serialize> GoJson<T> {
    pub fn new(value: &T) -> Self {
        Self::raw(go_json(value))
    }
}

impl<T> GoJson<T> {
    /// A body encoded elsewhere (for example audit events, which carry their own
    /// byte-exact writer). Must end with a newline.
    pub fn raw(body: String) -> Self {
        Self {
            body,
            status: StatusCode::OK,
            schema: PhantomData,
        }
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
}

impl<T: Type> Payload for GoJson<T> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Send> IntoResponse for GoJson<T> {
    fn into_response(self) -> Response {
        Response::builder()
            .status(self.status)
            .content_type("application/json")
            .body(self.body)
    }
}

impl<T: Type> ApiResponse for GoJson<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "OK",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: Self::CONTENT_TYPE,
                    schema: Self::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// Body size limits of the reference.
pub const SMALL_BODY: usize = 64 << 10;
pub const LARGE_BODY: usize = 1 << 20;

/// A JSON request body, read whole (up to `LIMIT` bytes) but decoded only when the
/// handler asks, so that authentication is checked first, as in the reference.
/// `REQUIRED`: whether the document says a body must be sent (rollback's is optional).
pub struct JsonBody<T, const LIMIT: usize = SMALL_BODY, const REQUIRED: bool = true> {
    bytes: Result<Vec<u8>, String>,
    schema: PhantomData<fn() -> T>,
}

impl<T, const LIMIT: usize, const REQUIRED: bool> JsonBody<T, LIMIT, REQUIRED> {
    /// No body was sent (or only whitespace, or `null`).
    pub fn is_empty(&self) -> bool {
        self.bytes.as_ref().is_ok_and(|b| {
            let text = String::from_utf8_lossy(b);
            let text = text.trim();
            text.is_empty() || text == "null"
        })
    }
}

impl<T: DeserializeOwned, const LIMIT: usize, const REQUIRED: bool> JsonBody<T, LIMIT, REQUIRED> {
    /// Decodes with Go's error texts; DTOs with `deny_unknown_fields` are strict.
    pub fn decode(&self, prefix: &str) -> Result<T, ApiError> {
        let bytes = self
            .bytes
            .as_ref()
            .map_err(|e| ApiError::BadRequest(format!("{prefix}{e}")))?;
        decode_json(bytes).map_err(|e| ApiError::BadRequest(format!("{prefix}{e}")))
    }
}

/// Decodes with messages shaped like Go's `encoding/json` ones.
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("json: {e}"))?;
    if text.trim().is_empty() {
        return Err("EOF".into());
    }
    // Go's decoder reads one value and ignores what follows it.
    let first = serde_json::Deserializer::from_str(text)
        .into_iter::<serde_json::Value>()
        .next();
    let value = match first {
        Some(Ok(v)) => v,
        Some(Err(e)) => return Err(syntax_error(text, &e)),
        None => return Err("EOF".into()),
    };
    if !value.is_object() {
        return Err(format!(
            "json: cannot unmarshal {} into Go value of type object",
            kind_name(&value)
        ));
    }
    serde_json::from_value(value).map_err(|e| {
        let message = e.to_string();
        match message.split_once("unknown field `") {
            Some((_, rest)) => {
                let field = rest.split('`').next().unwrap_or_default();
                format!("json: unknown field \"{field}\"")
            }
            None => format!("json: {}", message.split(" at line ").next().unwrap_or("")),
        }
    })
}

impl<T: Type, const LIMIT: usize, const REQUIRED: bool> Payload for JsonBody<T, LIMIT, REQUIRED> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(_: &str) -> bool {
        true
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type, const LIMIT: usize, const REQUIRED: bool> ParsePayload
    for JsonBody<T, LIMIT, REQUIRED>
{
    const IS_REQUIRED: bool = false;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let _ = request;
        let bytes = match body.take() {
            Ok(b) => b
                .into_bytes_limit(LIMIT)
                .await
                .map(|b| b.to_vec())
                // Go's capped reader ends the JSON early.
                .map_err(|_| "unexpected EOF".to_owned()),
            Err(_) => Ok(Vec::new()),
        };
        Ok(Self {
            bytes,
            schema: PhantomData,
        })
    }
}

impl<'a, T: Type, const LIMIT: usize, const REQUIRED: bool> ApiExtractor<'a>
    for JsonBody<T, LIMIT, REQUIRED>
{
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Self as Payload>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: <Self as Payload>::CONTENT_TYPE,
                schema: <Self as Payload>::schema_ref(),
            }],
            required: REQUIRED,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _: ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        <Self as ParsePayload>::from_request(request, body).await
    }
}

/// A request body left unread for a handler that streams it itself; `T` documents it.
pub struct RawBody<T> {
    pub body: poem::Body,
    schema: PhantomData<fn() -> T>,
}

impl<T: Type> Payload for RawBody<T> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(_: &str) -> bool {
        true
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<'a, T: Type> ApiExtractor<'a> for RawBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Self as Payload>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: <Self as Payload>::CONTENT_TYPE,
                schema: <Self as Payload>::schema_ref(),
            }],
            required: true,
        })
    }

    async fn from_request(
        _: &'a Request,
        body: &mut RequestBody,
        _: ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        Ok(Self {
            body: body.take().unwrap_or_default(),
            schema: PhantomData,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Sample<'a> {
        error: &'a str,
    }

    #[test]
    fn escapes_like_go() {
        let body = go_json(&Sample {
            error: "a<b>&c\u{2028}\"\n",
        });
        assert_eq!(
            body,
            "{\"error\":\"a\\u003cb\\u003e\\u0026c\\u2028\\\"\\n\"}\n"
        );
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Strict {
        jti: String,
    }

    #[test]
    fn decode_errors_read_like_go() {
        let unknown = decode_json::<Strict>(br#"{"jti":"x","foo":1}"#).unwrap_err();
        assert_eq!(unknown, "json: unknown field \"foo\"");
        let syntax = decode_json::<Strict>(b"{nope").unwrap_err();
        assert!(syntax.starts_with("invalid character"), "{syntax}");
        assert_eq!(decode_json::<Strict>(b"").unwrap_err(), "EOF");
    }
}

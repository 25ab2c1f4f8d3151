//! Wire formats shared by the API: JSON written the way Go's `json.Encoder` writes it
//! (HTML-safe escaping, trailing newline, declared field order), responses carrying
//! such JSON, and request bodies left unread for handlers that stream them.

use std::marker::PhantomData;

use poem::http::StatusCode;
use poem::{IntoResponse, Request, RequestBody, Response};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{
    MetaMediaType, MetaRequest, MetaResponse, MetaResponses, MetaSchemaRef, Registry,
};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ApiResponse, ExtractParamOptions};
use serde::Serialize;

use crate::domain::gojson::html_escape;

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
            let Some(escaped) = html_escape(c) else {
                continue;
            };
            writer.write_all(&fragment.as_bytes()[start..i])?;
            writer.write_all(escaped.as_bytes())?;
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// A JSON response (the body already encoded, newline included), for handlers that
/// write their bytes themselves.
pub fn json_response(status: StatusCode, body: String) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(body)
}

/// An `application/json` response whose body is already encoded; `T` documents it.
pub struct GoJson<T> {
    body: String,
    status: StatusCode,
    schema: PhantomData<fn() -> T>,
}

impl<T: Serialize> GoJson<T> {
    pub fn new(value: &T) -> Self {
        Self::encoded(go_json(value))
    }
}

impl<T> GoJson<T> {
    /// A body encoded elsewhere (for example audit events, which carry their own
    /// byte-exact writer). Must end with a newline.
    pub fn encoded(body: String) -> Self {
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

/// A request body left unread for a handler that streams it itself; `T` documents it.
pub struct UnreadBody<T> {
    pub body: poem::Body,
    schema: PhantomData<fn() -> T>,
}

impl<T: Type> Payload for UnreadBody<T> {
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

impl<'a, T: Type> ApiExtractor<'a> for UnreadBody<T> {
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
}

//! Admin request bodies, read whole but decoded only when the handler asks, so that
//! authentication is checked first and errors read as the reference's.

use std::marker::PhantomData;

use poem::{Request, RequestBody};
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use serde::de::DeserializeOwned;

use super::errors::ApiError;
use crate::domain::gojson::{kind_name, syntax_error};

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

#[cfg(test)]
mod tests {
    use super::*;

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

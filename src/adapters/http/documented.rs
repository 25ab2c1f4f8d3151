//! Responses that handlers write byte for byte (the reference's exact bodies, event
//! streams), documented in the OpenAPI document by a table of what each status carries.

use std::marker::PhantomData;

use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::registry::{
    MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
};

/// What one status's body is.
pub enum Body {
    /// No body.
    Empty,
    /// `application/json` with a schema.
    Json(fn() -> MetaSchemaRef),
    /// `application/json` with a schema, or `text/event-stream`.
    JsonOrStream(fn() -> MetaSchemaRef),
    /// `text/event-stream`.
    Stream,
    /// `text/plain`.
    Text,
}

/// The documented answers of one operation.
pub trait Statuses {
    const LIST: &'static [(u16, &'static str, Body)];

    /// The schemas the table names.
    fn register(registry: &mut Registry);
}

/// A handler's response, documented by `S`.
pub struct Documented<S>(Response, PhantomData<fn() -> S>);

impl<S> Documented<S> {
    pub fn new(response: Response) -> Self {
        Self(response, PhantomData)
    }
}

impl<S> IntoResponse for Documented<S> {
    fn into_response(self) -> Response {
        self.0
    }
}

fn media(content_type: &'static str, schema: MetaSchemaRef) -> MetaMediaType {
    MetaMediaType {
        content_type,
        schema,
    }
}

fn string() -> MetaSchemaRef {
    MetaSchemaRef::Inline(Box::new(MetaSchema::new("string")))
}

fn content(body: &Body) -> Vec<MetaMediaType> {
    match body {
        Body::Empty => vec![],
        Body::Json(schema) => vec![media("application/json", schema())],
        Body::JsonOrStream(schema) => vec![
            media("application/json", schema()),
            media("text/event-stream", string()),
        ],
        Body::Stream => vec![media("text/event-stream", string())],
        Body::Text => vec![media("text/plain", string())],
    }
}

impl<S: Statuses> ApiResponse for Documented<S> {
    fn meta() -> MetaResponses {
        let responses = S::LIST
            .iter()
            .map(|(status, description, body)| MetaResponse {
                description,
                status: Some(*status),
                status_range: None,
                content: content(body),
                headers: vec![],
            })
            .collect();
        MetaResponses { responses }
    }

    fn register(registry: &mut Registry) {
        S::register(registry);
    }
}

/// An `Authorization: Bearer` security scheme described by `description`.
pub fn bearer_scheme(description: &'static str) -> poem_openapi::registry::MetaSecurityScheme {
    poem_openapi::registry::MetaSecurityScheme {
        ty: "http",
        description: Some(description),
        name: None,
        key_in: None,
        scheme: Some("bearer"),
        bearer_format: None,
        flows: None,
        openid_connect_url: None,
    }
}

//! The protected-resource metadata (RFC 9728) that sends OAuth clients to the trusted
//! authorization servers: at the root and path-suffixed for `/v1/mcp`, where the MCP
//! SDKs look first.

use std::sync::Arc;

use poem::Response;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::registry::Registry;
use poem_openapi::types::Type;
use poem_openapi::{Object, OpenApi};

use super::documented::{Body, Documented, Statuses};
use super::tags::ApiTags;
use super::wire::json_response;
use crate::app::Gateway;
use crate::domain::oauth::ProtectedResource;

/// RFC 9728 §2.
#[derive(Object)]
pub struct ProtectedResourceMetadata {
    /// This gateway's resource URI: the audience tokens must be issued for.
    pub resource: String,
    /// The trusted authorization servers (their issuer identifiers).
    pub authorization_servers: Vec<String>,
    /// The scopes a client may ask for (`tools:*`, or `tools:NAME` per tool).
    pub scopes_supported: Option<Vec<String>>,
    /// Always `["header"]`: tokens go in `Authorization` only.
    pub bearer_methods_supported: Vec<String>,
    pub resource_name: String,
}

pub struct MetadataStatuses;

impl Statuses for MetadataStatuses {
    const LIST: &'static [(u16, &'static str, Body)] = &[
        (
            200,
            "The metadata",
            Body::Json(ProtectedResourceMetadata::schema_ref),
        ),
        (
            404,
            "OAuth sign-in is off (no INTENTGATE_OAUTH_ISSUERS)",
            Body::Text,
        ),
    ];

    fn register(registry: &mut Registry) {
        ProtectedResourceMetadata::register(registry);
    }
}

pub struct OAuthMetadataApi;

#[OpenApi(tag = "ApiTags::DataPlane")]
impl OAuthMetadataApi {
    /// Protected-resource metadata: where to get an access token for this gateway.
    #[oai(
        path = "/.well-known/oauth-protected-resource",
        method = "get",
        operation_id = "protectedResourceMetadata"
    )]
    async fn root(&self, gateway: Data<&Arc<Gateway>>) -> Documented<MetadataStatuses> {
        Documented::new(metadata(&gateway))
    }

    /// The same metadata at the path MCP clients derive from `/v1/mcp`.
    #[oai(
        path = "/.well-known/oauth-protected-resource/v1/mcp",
        method = "get",
        operation_id = "mcpProtectedResourceMetadata"
    )]
    async fn mcp(&self, gateway: Data<&Arc<Gateway>>) -> Documented<MetadataStatuses> {
        Documented::new(metadata(&gateway))
    }
}

fn metadata(gateway: &Gateway) -> Response {
    let Some(tokens) = &gateway.access_tokens else {
        return Response::builder()
            .status(StatusCode::NOT_FOUND)
            .content_type("text/plain; charset=utf-8")
            .body("404 page not found\n");
    };
    let document = ProtectedResource::of(tokens.rules()).to_json();
    json_response(StatusCode::OK, format!("{document}\n"))
}

//! The one OpenAPI service: data plane and admin API, with the document and Swagger
//! UI generated from the same code that serves the routes.

use poem_openapi::{OpenApi, OpenApiService};

use super::admin::{
    AgentsApi, ApprovalsApi, AuditApi, CheckpointsApi, IntegrationsApi, PoliciesApi, TenantsApi,
    TokensApi,
};
use super::data_plane::DataPlaneApi;
use super::oauth_metadata::OAuthMetadataApi;
use super::probes::ProbesApi;

pub type Apis = (
    DataPlaneApi,
    OAuthMetadataApi,
    TokensApi,
    TenantsApi,
    IntegrationsApi,
    AuditApi,
    CheckpointsApi,
    AgentsApi,
    ApprovalsApi,
    PoliciesApi,
    ProbesApi,
);

pub fn service(version: &str) -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            DataPlaneApi,
            OAuthMetadataApi,
            TokensApi,
            TenantsApi,
            IntegrationsApi,
            AuditApi,
            CheckpointsApi,
            AgentsApi,
            ApprovalsApi,
            PoliciesApi,
            ProbesApi,
        ),
        "IntentGate gateway",
        version,
    )
    .description(
        "Authorization gateway for AI agents. The /v1/admin routes exist when \
         INTENTGATE_ADMIN_TOKEN or INTENTGATE_TENANT_ADMINS is set.",
    )
}

/// Request bodies the server reads strictly (an unknown member is a 400). The
/// generator cannot write `additionalProperties: false`, so the document says it here.
const STRICT_BODIES: [&str; 5] = [
    "MintRequest",
    "RevokeRequest",
    "DecideRequest",
    "DraftRequest",
    "PromoteRequest",
];

/// The OpenAPI document (JSON), as served at `/openapi.json` and committed under
/// `openapi/`.
pub fn document(version: &str) -> String {
    let mut text = service(version).spec();
    for name in STRICT_BODIES {
        let marker = format!("\"title\": \"{name}\",");
        let Some(at) = text.find(&marker) else {
            continue; // the test below fails if a strict body lost its schema
        };
        let line = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let indent = text[line..at].to_owned();
        let insert = format!("\n{indent}\"additionalProperties\": false,");
        text.insert_str(at + marker.len(), &insert);
    }
    text
}

/// The methods each documented path answers, for `Allow` headers on 405s.
pub fn allowed_methods(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').collect();
    Apis::meta()
        .into_iter()
        .flat_map(|api| api.paths)
        .find_map(|p| {
            let template: Vec<&str> = p.path.split('/').collect();
            let matches = template.len() == segments.len()
                && template
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| t.starts_with(':') || t.starts_with('{') || t == s);
            matches.then(|| {
                let methods: Vec<String> =
                    p.operations.iter().map(|o| o.method.to_string()).collect();
                methods.join(", ")
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed document is what the code generates. To regenerate:
    /// `cargo run -- openapi > openapi/openapi.json`.
    #[test]
    fn committed_openapi_document_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        let generated = format!("{}\n", document(crate::adapters::http::VERSION));
        assert!(
            committed == generated,
            "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json`"
        );
    }

    #[test]
    fn strict_bodies_refuse_unknown_members_in_the_document() {
        let doc: serde_json::Value =
            serde_json::from_str(&document(crate::adapters::http::VERSION)).unwrap_or_default();
        for name in STRICT_BODIES {
            let schema = &doc["components"]["schemas"][name];
            assert_eq!(schema["additionalProperties"], false, "{name}: {schema}");
        }
    }

    #[test]
    fn allow_lists_every_method_of_a_path() {
        let mcp = allowed_methods("/v1/mcp").unwrap_or_default();
        assert!(mcp.contains("POST") && mcp.contains("GET") && mcp.contains("DELETE"));
        let drafts = allowed_methods("/v1/admin/policies/drafts/abc").unwrap_or_default();
        assert!(drafts.contains("GET") && drafts.contains("PUT") && drafts.contains("DELETE"));
        assert_eq!(allowed_methods("/v1/nope"), None);
    }
}

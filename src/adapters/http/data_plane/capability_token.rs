//! The capability token as a security scheme of `/v1/mcp`, so the document and generated
//! clients know to send it.

use poem::Request;
use poem_openapi::registry::Registry;

/// Documents the capability token on `/v1/mcp`; the pipeline reads and checks it, so
/// extraction never fails here.
pub struct CapabilityToken;

impl<'a> poem_openapi::ApiExtractor<'a> for CapabilityToken {
    const TYPES: &'static [poem_openapi::ApiExtractorType] =
        &[poem_openapi::ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        registry.create_security_scheme(
            "CapabilityToken",
            crate::adapters::http::documented::bearer_scheme(
                "A capability token minted by POST /v1/admin/mint or igctl mint \
                     (and possibly attenuated by an SDK).",
            ),
        );
    }

    fn security_schemes() -> Vec<&'static str> {
        vec!["CapabilityToken"]
    }

    /// Optional: without `INTENTGATE_REQUIRE_CAPABILITY=true` a call may carry none.
    fn has_security_fallback() -> bool {
        true
    }

    async fn from_request(
        _: &'a Request,
        _: &mut poem::RequestBody,
        _: poem_openapi::ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        Ok(Self)
    }
}

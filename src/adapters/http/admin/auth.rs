//! Admin authentication as a poem-openapi security scheme that never rejects on its
//! own: handlers answer 401 themselves, after the checks the reference runs first.

use std::sync::Arc;

use poem::Request;
use poem::http::header;
use poem_openapi::registry::Registry;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use super::errors::ApiError;
use crate::app::Gateway;
use crate::app::admin::{AdminContext, Caller};

pub const SCHEME: &str = "AdminToken";

/// The resolved caller (if the token was valid) and the request facts admin audit
/// events carry.
pub struct AdminAuth {
    caller: Option<Caller>,
    pub context: AdminContext,
}

impl AdminAuth {
    /// The caller, or 401 `invalid or missing admin token`.
    pub fn caller(&self) -> Result<&Caller, ApiError> {
        self.caller.as_ref().ok_or(ApiError::Unauthorized)
    }
}

impl<'a> ApiExtractor<'a> for AdminAuth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        registry.create_security_scheme(
            SCHEME,
            crate::adapters::http::documented::bearer_scheme(
                "INTENTGATE_ADMIN_TOKEN (superadmin) or a tenant admin token from \
                     INTENTGATE_TENANT_ADMINS, as `Authorization: Bearer <token>`.",
            ),
        );
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![SCHEME]
    }

    async fn from_request(
        request: &'a Request,
        _: &mut poem::RequestBody,
        _: ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        let header_str = |name| {
            request
                .headers()
                .get(name)
                .and_then(|v: &poem::http::HeaderValue| v.to_str().ok())
        };
        let access = request.data::<Arc<Gateway>>().map(|g| &g.admin);
        // Without any admin token the admin routes do not exist (reference: plain 404).
        let Some(access) = access.filter(|a| a.enabled()) else {
            return Err(poem::error::NotFoundError.into());
        };
        // With approvals off their routes do not exist either (reference: plain 404).
        let approvals_off = request
            .data::<Arc<Gateway>>()
            .is_some_and(|g| g.approvals.is_none());
        if approvals_off && request.uri().path().starts_with("/v1/admin/approvals") {
            return Err(poem::error::NotFoundError.into());
        }
        let caller = access.resolve(header_str(header::AUTHORIZATION.as_str()));
        let remote = request
            .remote_addr()
            .as_socket_addr()
            .map(ToString::to_string)
            .unwrap_or_default();
        Ok(Self {
            caller,
            context: AdminContext::new(remote, header_str("x-intentgate-elevation-id")),
        })
    }
}

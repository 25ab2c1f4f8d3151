//! Tenants: the ones the gateway knows, as far as the caller may see them.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::OpenApi;

use super::auth::AdminAuth;
use super::dto::{Tenant, TenantsResponse};
use super::errors::api_errors;
use crate::adapters::http::tags::ApiTags;
use crate::adapters::http::wire::GoJson;
use crate::app::Gateway;

api_errors!(
    /// Errors of `GET /v1/admin/tenants`.
    TenantsErrors { 401 Unauthorized, 503 Unavailable }
);

pub struct TenantsApi;

#[OpenApi(tag = "ApiTags::Tenants")]
impl TenantsApi {
    /// Tenants that have an admin token.
    #[oai(
        path = "/v1/admin/tenants",
        method = "get",
        operation_id = "listTenants"
    )]
    async fn tenants(
        &self,
        auth: AdminAuth,
        gateway: Data<&Arc<Gateway>>,
    ) -> Result<GoJson<TenantsResponse>, TenantsErrors> {
        let caller = auth.caller()?;
        let ids = if caller.is_superadmin() {
            gateway.admin.tenant_ids()
        } else {
            vec![caller.tenant().to_owned()]
        };
        let tenants = ids
            .into_iter()
            .map(|id| Tenant {
                id,
                has_admin: true,
            })
            .collect();
        Ok(GoJson::new(&TenantsResponse { tenants }))
    }
}

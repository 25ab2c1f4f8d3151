//! Bodies of the `Tenants` tag.

use poem_openapi::Object;
use serde::Serialize;

#[derive(Object, Serialize)]
pub struct Tenant {
    pub id: String,
    pub has_admin: bool,
}

#[derive(Object, Serialize)]
pub struct TenantsResponse {
    pub tenants: Vec<Tenant>,
}

//! The admin API (`/v1/admin/*`): one `*Api` per tag in a file of its own, DTOs
//! separate from domain types (`dto`, one file per tag), one error enum per operation
//! listing its documented statuses.

mod agents;
mod approvals;
mod audit;
mod auth;
mod checkpoints;
mod dry_run;
mod dto;
mod errors;
mod export;
mod integrations;
mod json_body;
mod params;
mod policies;
mod tenants;
mod tokens;
mod typed_param;

pub use agents::AgentsApi;
pub use approvals::ApprovalsApi;
pub use audit::AuditApi;
pub use checkpoints::CheckpointsApi;
pub use dto::{VerifiedCheckpoint, VerifyResponse};
pub use errors::{ApiError, ERROR_CODE_HEADER};
pub use integrations::IntegrationsApi;
pub use policies::PoliciesApi;
pub use tenants::TenantsApi;
pub use tokens::TokensApi;

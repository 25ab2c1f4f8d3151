//! The admin API (`/v1/admin/*`): one `*Api` per tag, DTOs separate from domain types,
//! one error enum per operation listing its documented statuses.

mod agents;
mod approvals;
mod audit;
mod auth;
mod dry_run;
mod dto;
mod errors;
mod export;
mod json_body;
mod params;
mod policies;
mod tokens;
mod typed_param;

pub use agents::AgentsApi;
pub use approvals::ApprovalsApi;
pub use audit::AuditApi;
pub use dto::VerifyResponse;
pub use errors::{ApiError, ERROR_CODE_HEADER};
pub use policies::PoliciesApi;
pub use tokens::TokensApi;

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

use crate::app::{AuditFailure, Gateway};
use crate::domain::audit::AuditEvent;

/// Records an admin action's audit event.
async fn record(gateway: &Gateway, event: AuditEvent) -> Result<(), AuditFailure> {
    gateway.audit.record(event).await
}

/// The time admin writes are stamped with: microseconds, the precision every store
/// keeps, so an answer shows exactly what a later read returns.
fn now(gateway: &Gateway) -> crate::domain::time::Timestamp {
    gateway.clock.now().truncate_to_micros()
}

/// Random bytes for a new id; without randomness the request fails (500), it never
/// gets an id that could collide.
fn random_id_bytes<const N: usize>() -> Result<[u8; N], ApiError> {
    crate::app::random_bytes().map_err(|e| ApiError::Internal(e.to_string()))
}

//! Request and response bodies of the admin API, one file per tag, separate from domain
//! types. Field order is the reference's wire order (alphabetical where it encodes Go
//! maps). Bodies that domain writers produce byte-exactly (events, approvals, drafts,
//! active pointers) are embedded as `Encoded<T>`, and their structs only document them.
//!
//! One naming rule for every DTO of the HTTP adapter (here, `errors.rs`, the data
//! plane's and the probes'):
//! - the Rust name is the OpenAPI schema name (no `#[oai(rename)]`), so a name read
//!   in the document is the name to grep for;
//! - a body a client sends ends in `Request`;
//! - a whole response body ends in `Response`, or in `Page` when it is a paginated
//!   list (it carries `limit` and `offset`);
//! - an item nested in those is a plain noun (`AuditEvent`, `Revocation`, `Tenant`);
//! - no `Dto`, `Doc`, `Json` or `View` suffixes. Where a plain noun collides with a
//!   domain type, the domain type is named through its module (`revocation::Revocation`).

mod agents;
mod approvals;
mod audit;
mod checkpoints;
mod dry_run;
mod integrations;
mod policies;
mod tenants;
mod tokens;

use serde::Deserialize;

pub use agents::AgentsResponse;
pub use approvals::{ApprovalsPage, DecideRequest, PendingRequest};
pub use audit::{AuditPage, VerifiedCheckpoint, VerifyResponse};
pub use checkpoints::{
    CheckpointResponse, ConsistencyProofResponse, InclusionProofResponse, base64,
};
pub use dry_run::{DryRunRequest, DryRunResponse, DryRunSample, DryRunSummary, DryRunWindow};
pub use integrations::{IntegrationStatus, IntegrationsResponse};
pub use policies::{
    ActivePolicyResponse, ClearResponse, DeleteDraftResponse, Draft, DraftRequest, DraftsPage,
    PromoteRequest, PromoteResponse, RollbackRequest, RollbackResponse,
};
pub use tenants::{Tenant, TenantsResponse};
pub use tokens::{MintRequest, MintResponse, RevocationsPage, RevokeRequest, RevokeResponse};

/// Go decodes `null` into a field as its zero value; so do we.
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Empty text is left out of a response (Go's `omitempty`); the schema says optional.
pub fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

/// An empty list is left out of a response (Go's `omitempty`).
pub fn non_empty_list(items: Vec<String>) -> Option<Vec<String>> {
    (!items.is_empty()).then_some(items)
}

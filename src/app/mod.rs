//! The application layer: the `tools/call` pipeline and the services admin routes use.
//! It orchestrates the domain and the ports; it knows traits, not technologies.

mod access_tokens;
pub mod admin;
mod approvals;
mod audit_writer;
mod budget_counter;
mod chain_append;
mod context;
mod group_commit;
mod identity;
pub mod mcp;
mod pipeline;
mod policy_sync;
mod transparency;
mod verified_tokens;

use std::sync::Arc;
use std::time::Duration;

pub use access_tokens::{AccessTokens, IssuerStatus, KeyRefresh};
pub use approvals::ApprovalGate;
pub use audit_writer::{AuditWriter, Durability};
pub use budget_counter::BudgetCounter;
pub use chain_append::AuditFailure;
pub use context::ToolCall;
pub use pipeline::CallOutcome;
pub use policy_sync::{PolicySync, PolicyWrites};
pub use transparency::{CheckpointSchedule, Transparency, TransparencyError};
pub use verified_tokens::VerifiedTokens;

use crate::domain::audit::ArgValuesMode;
use crate::domain::token::MasterKey;
use crate::ports::{Clock, IntentExtractor, PolicyEngine, Stores, ToolServer};

/// Pipeline switches from configuration.
#[derive(Clone, Debug)]
pub struct PipelineSettings {
    pub require_capability: bool,
    pub require_intent: bool,
    pub require_budget: bool,
    pub arg_values: ArgValuesMode,
    pub approval_window: Duration,
}

/// Everything a request needs, shared by all handlers.
pub struct Gateway {
    pub stores: Stores,
    pub clock: Arc<dyn Clock>,
    pub key: MasterKey,
    /// Capability tokens whose signature verified, so a repeated token is not
    /// decoded and verified again.
    pub verified_tokens: VerifiedTokens,
    pub policy: Arc<dyn PolicyEngine>,
    /// Held while a slot is written and its policy installed (see [`PolicyWrites`]).
    pub policy_writes: PolicyWrites,
    pub extractor: Option<Arc<dyn IntentExtractor>>,
    pub upstream: Option<Arc<dyn ToolServer>>,
    pub audit: Arc<AuditWriter>,
    /// `max_calls` counting, in rounds over the budget store.
    pub budgets: Arc<BudgetCounter>,
    /// `None` when approvals are switched off.
    pub approvals: Option<Arc<ApprovalGate>>,
    pub settings: PipelineSettings,
    /// Who may use the admin API.
    pub admin: admin::AdminAccess,
    /// What the default policy slot runs when no draft is promoted there
    /// (`embedded default` or `file:<path>`).
    pub policy_label: String,
    /// Serve `GET /metrics` and record request metrics.
    pub metrics_enabled: bool,
    /// MCP sessions issued to clients.
    pub sessions: Arc<mcp::Sessions>,
    pub mcp: mcp::McpSettings,
    /// Merkle trees and signed checkpoints over the audit chains.
    pub transparency: Arc<Transparency>,
    /// OAuth access tokens from trusted issuers; `None` when none are configured.
    pub access_tokens: Option<Arc<AccessTokens>>,
}

/// The operating system could not supply random bytes.
#[derive(Debug, thiserror::Error)]
#[error("operating system randomness unavailable: {0}")]
pub struct RandomnessUnavailable(pub getrandom::Error);

/// `N` random bytes from the operating system, for keys and identifiers. A failure is an
/// error, never zeroes: ids made from zeroes would collide and a zero key is public.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], RandomnessUnavailable> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(RandomnessUnavailable)?;
    Ok(bytes)
}

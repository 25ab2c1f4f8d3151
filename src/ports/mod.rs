//! Ports: what the application needs from the outside world, as object-safe traits.
//!
//! Every method's doc comment is its contract, and the conformance suite in
//! `tests/conformance` tests exactly those sentences on every backend.

mod approval;
mod audit;
mod budget;
mod change_feed;
mod clock;
mod error;
mod intent;
mod issuer_keys;
mod policy;
mod policy_engine;
mod revocation;
mod session;
mod sink;
mod transparency;
mod upstream;

use std::sync::Arc;

pub use approval::{ApprovalFilter, ApprovalStore, CreateOutcome, DecideOutcome};
pub use audit::{AppendOutcome, AuditChainStore, MAX_RACES};
pub use budget::BudgetStore;
pub use change_feed::{Change, ChangeFeed};
pub use clock::Clock;
pub use error::{BoxError, StoreError, StoreResult};
pub use intent::IntentExtractor;
pub use issuer_keys::IssuerKeysSource;
pub use policy::{DeleteDraftOutcome, PolicyStore, PromoteOutcome, RollbackOutcome};
pub use policy_engine::{Candidate, PolicyEngine};
pub use revocation::{RevocationStore, RevokeOutcome};
pub use session::{SessionCreated, SessionStore};
pub use sink::{EventSink, SinkStatus};
pub use transparency::{TransparencyStore, hash_not_stored};
pub use upstream::{
    EventStream, ReplyBody, ToolServer, UpstreamFailure, UpstreamHeaders, UpstreamReply,
};

/// One backend's implementations of every storage port, wired once at startup.
#[derive(Clone)]
pub struct Stores {
    /// Short backend name for logs and health output (`memory`, `sled`, `postgres`).
    pub backend: &'static str,
    pub audit: Arc<dyn AuditChainStore>,
    pub revocations: Arc<dyn RevocationStore>,
    pub budgets: Arc<dyn BudgetStore>,
    pub approvals: Arc<dyn ApprovalStore>,
    pub policies: Arc<dyn PolicyStore>,
    pub sessions: Arc<dyn SessionStore>,
    /// Each audit chain's Merkle tree and its signed checkpoints.
    pub transparency: Arc<dyn TransparencyStore>,
    /// Changes made by other processes on the same store, where several can share it.
    pub changes: Option<Arc<dyn ChangeFeed>>,
}

//! The policy engine: compiled Rego per tenant slot.

use serde_json::Value;

use crate::domain::policy::PolicyDecision;

/// A compiled policy that is not installed in any slot, for replays (dry-runs).
pub type Candidate = Box<dyn Fn(Value) -> Result<PolicyDecision, String> + Send + Sync>;

/// Evaluates `data.intentgate.policy.decision`. Slot `""` is the default engine that
/// every tenant without its own policy uses. Implementations must be cheap to call
/// concurrently: evaluation is on the hot path and must not serialize requests.
pub trait PolicyEngine: Send + Sync {
    /// Compiles `source` without installing it; `Err` carries the compiler's message.
    fn compile_check(&self, source: &str) -> Result<(), String>;

    /// Compiles `source` into a [`Candidate`] that evaluates inputs as [`Self::evaluate`]
    /// would, without touching any slot.
    fn candidate(&self, source: &str) -> Result<Candidate, String>;

    /// Compiles `source` and atomically replaces the slot's policy. On `Err` the slot
    /// keeps its previous policy.
    fn install(&self, slot: &str, source: &str) -> Result<(), String>;

    /// Drops a tenant's own policy so it falls back to the default slot. Removing the
    /// default slot is a no-op.
    fn remove(&self, slot: &str);

    /// Decides for `input` with the tenant's policy, or the default one. Any engine
    /// error, undefined decision or wrong shape is `Err` with the reference's text, and
    /// the caller denies.
    fn evaluate(&self, tenant: &str, input: Value) -> Result<PolicyDecision, String>;
}

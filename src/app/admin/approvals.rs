//! The approval decision use-case: a tenant admin decides only its own tenant's rows,
//! and the decision goes through the gate so the call waiting on this replica wakes.

use std::sync::Arc;

use super::{Caller, admin_now};
use crate::app::{ApprovalGate, Gateway};
use crate::domain::approval::{Approval, ApprovalDecision, ApprovalVerdict};
use crate::ports::{DecideOutcome, StoreError};

/// Why a decision was not taken.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    #[error("approvals queue not configured")]
    NotConfigured,
    #[error("missing pending id")]
    MissingId,
    /// Unknown, or another tenant's.
    #[error("pending id not found")]
    NotFound,
    /// The row is no longer pending; it is returned as it now is.
    #[error("already decided")]
    AlreadyDecided(Box<Approval>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The approval gate, when approvals are switched on.
pub fn gate(gateway: &Gateway) -> Result<&Arc<ApprovalGate>, DecideError> {
    gateway.approvals.as_ref().ok_or(DecideError::NotConfigured)
}

/// Approves or rejects a pending row; returns it decided.
pub async fn decide(
    gateway: &Gateway,
    caller: &Caller,
    pending_id: &str,
    verdict: ApprovalVerdict,
    (decided_by, note): (String, String),
) -> Result<Approval, DecideError> {
    let gate = gate(gateway)?;
    if pending_id.is_empty() {
        return Err(DecideError::MissingId);
    }
    if !caller.is_superadmin() {
        // A store that cannot answer is an error, not a "not found" the caller would trust.
        let row = gate.store().get(pending_id).await?;
        if !row.is_some_and(|r| caller.owns(&r.tenant)) {
            return Err(DecideError::NotFound);
        }
    }
    let decision = ApprovalDecision {
        verdict,
        decided_by,
        note,
        at: admin_now(gateway),
    };
    match gate.decide(pending_id, &decision).await? {
        DecideOutcome::Decided(row) => Ok(row),
        DecideOutcome::AlreadyDecided(row) => Err(DecideError::AlreadyDecided(Box::new(row))),
        DecideOutcome::NotFound => Err(DecideError::NotFound),
    }
}

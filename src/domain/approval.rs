//! Human approval of escalated calls: `pending` moves exactly once to `approved`,
//! `rejected` or `timeout`.

use serde_json::Value;

use super::gojson::ObjectWriter;
use super::time::{Timestamp, go_duration};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Rejected,
    Timeout,
}

impl ApprovalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Timeout => "timeout",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Rejected, Self::Timeout]
            .into_iter()
            .find(|status| status.as_str() == s)
    }
}

/// The final word on a pending approval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApprovalVerdict {
    Approve,
    Reject,
    /// The wait ran out before anyone decided.
    Expire,
}

impl ApprovalVerdict {
    /// The admin API vocabulary: `approve` / `reject` (case-sensitive).
    pub fn parse_admin(s: &str) -> Option<Self> {
        match s {
            "approve" => Some(Self::Approve),
            "reject" => Some(Self::Reject),
            _ => None,
        }
    }

    fn status(self) -> ApprovalStatus {
        match self {
            Self::Approve => ApprovalStatus::Approved,
            Self::Reject => ApprovalStatus::Rejected,
            Self::Expire => ApprovalStatus::Timeout,
        }
    }
}

/// A decision to apply, with who made it and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovalDecision {
    pub verdict: ApprovalVerdict,
    pub decided_by: String,
    pub note: String,
    pub at: Timestamp,
}

impl ApprovalDecision {
    /// What a pending row records: its new status, reviewer and note (an expiry
    /// records neither reviewer nor note).
    pub fn recorded(&self) -> (ApprovalStatus, &str, &str) {
        match self.verdict {
            ApprovalVerdict::Expire => (ApprovalStatus::Timeout, "", ""),
            v => (v.status(), &self.decided_by, &self.note),
        }
    }
}

/// One escalated call awaiting (or past) a human decision.
#[derive(Clone, Debug, PartialEq)]
pub struct Approval {
    pub pending_id: String,
    pub tenant: String,
    pub capability_token_id: String,
    pub root_capability_token_id: String,
    pub agent_id: String,
    pub tool: String,
    /// The call's arguments, verbatim.
    pub args: Option<Value>,
    pub intent_summary: String,
    /// The policy's reason for escalating.
    pub reason: String,
    pub status: ApprovalStatus,
    pub created_at: Timestamp,
    pub decided_at: Option<Timestamp>,
    pub decided_by: String,
    pub decide_note: String,
    pub requires_step_up: bool,
}

impl Approval {
    /// The transition every store applies under its own atomicity: only a pending row
    /// moves, and only once: `None` when the row is no longer pending. (An expiry
    /// records no `decided_by`.)
    pub fn decide(&self, d: &ApprovalDecision) -> Option<Approval> {
        if self.status != ApprovalStatus::Pending {
            return None;
        }
        let (status, decided_by, note) = d.recorded();
        Some(Approval {
            status,
            decided_at: Some(d.at),
            decided_by: decided_by.to_owned(),
            decide_note: note.to_owned(),
            ..self.clone()
        })
    }

    /// The audit reason for a decided row: `approved by alice: ok`,
    /// `rejected by (anonymous)`, `approval window expired (5m0s)`.
    pub fn outcome_reason(&self, wait: std::time::Duration) -> String {
        let who = if self.decided_by.is_empty() {
            "(anonymous)"
        } else {
            &self.decided_by
        };
        let note = if self.decide_note.is_empty() {
            String::new()
        } else {
            format!(": {}", self.decide_note)
        };
        match self.status {
            ApprovalStatus::Approved => format!("approved by {who}{note}"),
            ApprovalStatus::Rejected => format!("rejected by {who}{note}"),
            ApprovalStatus::Timeout => {
                format!("approval window expired ({})", go_duration(wait))
            }
            ApprovalStatus::Pending => {
                format!("unexpected approval status: {}", self.status.as_str())
            }
        }
    }

    /// The admin API's JSON for a row, in the reference's key order.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(384);
        let mut w = ObjectWriter::new(&mut out);
        w.str("pending_id", &self.pending_id)
            .str_opt("tenant", &self.tenant);
        w.str_opt("capability_token_id", &self.capability_token_id);
        w.str_opt("root_capability_token_id", &self.root_capability_token_id);
        w.str("agent_id", &self.agent_id).str("tool", &self.tool);
        w.value_opt("args", self.args.as_ref())
            .str_opt("intent_summary", &self.intent_summary);
        w.str("reason", &self.reason)
            .str("status", self.status.as_str());
        w.str("created_at", &self.created_at.to_rfc3339_nano());
        if let Some(at) = self.decided_at {
            w.str("decided_at", &at.to_rfc3339_nano());
        }
        w.str_opt("decided_by", &self.decided_by)
            .str_opt("decide_note", &self.decide_note);
        w.true_opt("requires_step_up", self.requires_step_up);
        w.finish();
        out
    }
}

//! Pipeline decisions and how a blocked call is reported over JSON-RPC.

use super::oauth::Challenge;
use super::token::CapabilityError;

/// JSON-RPC error codes the gateway emits.
pub mod rpc_code {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
    pub const INTERNAL_ERROR: i64 = -32603;
    pub const CAPABILITY: i64 = -32010;
    pub const INTENT: i64 = -32011;
    pub const POLICY: i64 = -32012;
    pub const BUDGET: i64 = -32013;
    /// MCP 2026-07-28: the request metadata headers disagree with the body.
    pub const HEADER_MISMATCH: i64 = -32020;
    /// MCP 2026-07-28: the requested protocol version is not served.
    pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
}

/// The checks of a `tools/call`, in pipeline order; `as_str` is the audit `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    Capability,
    Intent,
    Policy,
    Budget,
    Upstream,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Capability => "capability",
            Self::Intent => "intent",
            Self::Policy => "policy",
            Self::Budget => "budget",
            Self::Upstream => "upstream",
        }
    }

    pub fn rpc_code(self) -> i64 {
        match self {
            Self::Capability => rpc_code::CAPABILITY,
            Self::Intent => rpc_code::INTENT,
            Self::Policy => rpc_code::POLICY,
            Self::Budget => rpc_code::BUDGET,
            Self::Upstream => rpc_code::INTERNAL_ERROR,
        }
    }
}

/// The audit `decision` of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    Allow,
    Block,
    Escalate,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Block => "block",
            Self::Escalate => "escalate",
        }
    }
}

/// A blocked `tools/call`: which stage stopped it, the JSON-RPC `message`, and the
/// reason (JSON-RPC `data` and audit `reason`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    pub stage: Stage,
    pub message: &'static str,
    pub reason: String,
    /// Set when the call went through the approval queue, so the agent can correlate.
    pub pending_id: Option<String>,
    /// Set when an OAuth client must be told to sign in again or ask for more scope
    /// (HTTP 401 / 403 with `WWW-Authenticate` instead of a JSON-RPC error).
    pub challenge: Option<Challenge>,
}

/// The reason text when a policy escalates but approvals are switched off. The
/// reference names a variable that does not exist; ours names the real one.
pub const NO_APPROVALS_REASON: &str = "escalation required but approvals are disabled \
     (set INTENTGATE_APPROVALS_BACKEND to memory or postgres)";

impl Denial {
    fn new(stage: Stage, message: &'static str, reason: String) -> Self {
        Self {
            stage,
            message,
            reason,
            pending_id: None,
            challenge: None,
        }
    }

    pub fn capability(err: &CapabilityError) -> Self {
        let mut d = Self::new(
            Stage::Capability,
            "capability check failed",
            err.to_string(),
        );
        d.challenge = match err {
            CapabilityError::AccessToken(e) => Some(Challenge::InvalidToken(e.to_string())),
            CapabilityError::InsufficientScope(scope) => {
                Some(Challenge::InsufficientScope(scope.clone()))
            }
            _ => None,
        };
        d
    }

    pub fn intent(reason: String) -> Self {
        Self::new(Stage::Intent, "intent check failed", reason)
    }

    pub fn policy(reason: String) -> Self {
        Self::new(Stage::Policy, "policy check failed", reason)
    }

    pub fn escalation_unavailable() -> Self {
        Self::new(
            Stage::Policy,
            "policy escalation required",
            NO_APPROVALS_REASON.to_owned(),
        )
    }

    pub fn escalation_failed(reason: String) -> Self {
        Self::new(Stage::Policy, "policy escalation failed", reason)
    }

    pub fn rejected(reason: String, pending_id: String) -> Self {
        let mut d = Self::new(Stage::Policy, "policy: rejected by reviewer", reason);
        d.pending_id = Some(pending_id);
        d
    }

    pub fn approval_expired(reason: String, pending_id: String) -> Self {
        let mut d = Self::new(Stage::Policy, "policy: approval window expired", reason);
        d.pending_id = Some(pending_id);
        d
    }

    pub fn budget(reason: String) -> Self {
        Self::new(Stage::Budget, "budget check failed", reason)
    }

    pub fn rpc_code(&self) -> i64 {
        self.stage.rpc_code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_map_to_reference_codes() {
        let codes: Vec<i64> = [
            Stage::Capability,
            Stage::Intent,
            Stage::Policy,
            Stage::Budget,
        ]
        .into_iter()
        .map(Stage::rpc_code)
        .collect();
        assert_eq!(codes, [-32010, -32011, -32012, -32013]);
        assert_eq!(Stage::Upstream.rpc_code(), -32603);
    }

    #[test]
    fn capability_denial_carries_the_reason_text() {
        let d = Denial::capability(&CapabilityError::Revoked);
        assert_eq!(
            (d.message, d.reason.as_str()),
            ("capability check failed", "token revoked")
        );
    }
}

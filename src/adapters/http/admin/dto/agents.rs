//! Bodies of the `Agents` tag: the agents the audit log has seen.

use poem_openapi::Object;
use serde::Serialize;

use super::non_empty;
use crate::adapters::http::admin::typed_param::{Instant, RiskSignals, Text};
use crate::domain::discovery;

/// One agent the gateway has observed in the audit log.
#[derive(Object, Serialize)]
pub struct ObservedAgent {
    /// Empty for callers without an identity.
    pub agent_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Distinct tool names, sorted.
    pub tools: Vec<String>,
    /// Sorted, distinct.
    pub risk_signals: Vec<Text<RiskSignals>>,
    /// Calls, not events: the events one call leaves (escalation, decision, the event
    /// before forwarding, the outcome) count once.
    pub calls: u64,
    /// Calls whose latest event is not an `allow`.
    pub blocked: u64,
    pub first_seen: Text<Instant>,
    pub last_seen: Text<Instant>,
    /// Distinct session ids.
    pub session_count: u64,
}

impl From<discovery::ObservedAgent> for ObservedAgent {
    fn from(a: discovery::ObservedAgent) -> Self {
        Self {
            agent_id: a.agent_id,
            tenant: non_empty(a.tenant),
            tools: a.tools,
            risk_signals: a
                .risk_signals
                .iter()
                .map(|s| Text::new(s.as_str()))
                .collect(),
            calls: a.calls,
            blocked: a.blocked,
            first_seen: Text::new(a.first_seen.to_rfc3339_nano()),
            last_seen: Text::new(a.last_seen.to_rfc3339_nano()),
            session_count: a.session_count,
        }
    }
}

/// Agents seen in the newest audit events of the window, most recently seen first.
#[derive(Object, Serialize)]
pub struct AgentsResponse {
    pub agents: Vec<ObservedAgent>,
    /// Audit events read (at most 10,000).
    pub events_scanned: u64,
}

//! Passive agent discovery: which agents the gateway has seen, what they called, how
//! often it let them, and the risks their tools suggest — folded from audit events
//! alone, so it needs no integration and reflects what actually passed through.

mod calls;
mod risk;

use std::collections::{BTreeMap, BTreeSet};

pub use calls::CallTally;
pub use risk::{RiskSignal, risk_signals};

use crate::domain::audit::AuditEvent;
use crate::domain::time::Timestamp;

/// One agent as observed across its audit events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedAgent {
    /// Empty for callers without an identity (no token, or a blank subject).
    pub agent_id: String,
    /// The tenant of its newest event that names one; empty if none does.
    pub tenant: String,
    /// Distinct tool names, sorted.
    pub tools: Vec<String>,
    pub risk_signals: Vec<RiskSignal>,
    /// Calls, not events: see [`CallTally`].
    pub calls: u64,
    /// Calls whose latest event is not an `allow`.
    pub blocked: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Distinct non-empty session ids.
    pub session_count: u64,
}

/// Groups events (newest first, as audit queries return them) by agent, most recently
/// seen agent first, ties by id. A blank agent id is one group, reported as empty.
pub fn observe_agents(newest_first: &[AuditEvent]) -> Vec<ObservedAgent> {
    let mut groups: BTreeMap<&str, Group<'_>> = BTreeMap::new();
    // Oldest first, so that a call's later events find the earlier ones.
    for e in newest_first.iter().rev() {
        let id = match e.agent_id.trim().is_empty() {
            true => "",
            false => e.agent_id.as_str(),
        };
        groups.entry(id).or_insert_with(|| Group::new(e.ts)).add(e);
    }
    let mut agents: Vec<ObservedAgent> = groups
        .into_iter()
        .map(|(id, group)| group.finish(id))
        .collect();
    agents.sort_by(|a, b| {
        b.last_seen
            .cmp(&a.last_seen)
            .then_with(|| a.agent_id.cmp(&b.agent_id))
    });
    agents
}

/// One agent's running totals.
struct Group<'a> {
    tenant: &'a str,
    tools: BTreeSet<&'a str>,
    sessions: BTreeSet<&'a str>,
    tally: CallTally,
    first_seen: Timestamp,
    last_seen: Timestamp,
}

impl<'a> Group<'a> {
    fn new(ts: Timestamp) -> Self {
        Self {
            tenant: "",
            tools: BTreeSet::new(),
            sessions: BTreeSet::new(),
            tally: CallTally::default(),
            first_seen: ts,
            last_seen: ts,
        }
    }

    fn add(&mut self, e: &'a AuditEvent) {
        if !e.tenant.is_empty() {
            self.tenant = &e.tenant;
        }
        if !e.tool.is_empty() {
            self.tools.insert(&e.tool);
        }
        if !e.session_id.is_empty() {
            self.sessions.insert(&e.session_id);
        }
        self.tally.feed(e);
        self.first_seen = self.first_seen.min(e.ts);
        self.last_seen = self.last_seen.max(e.ts);
    }

    fn finish(self, agent_id: &str) -> ObservedAgent {
        let tools: Vec<String> = self.tools.into_iter().map(str::to_owned).collect();
        ObservedAgent {
            agent_id: agent_id.to_owned(),
            tenant: self.tenant.to_owned(),
            risk_signals: risk_signals(agent_id, &tools),
            tools,
            calls: self.tally.calls,
            blocked: self.tally.blocked,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            session_count: self.sessions.len() as u64,
        }
    }
}

#[cfg(test)]
mod tests;

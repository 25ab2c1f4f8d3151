//! Counting calls, not events: one call can leave several audit events (an escalation,
//! its decision, the event written before forwarding, the tool server's outcome). The
//! tally links each event to the call it continues, so a call counts once and is
//! blocked when its latest event is not an `allow`.

use std::collections::HashMap;

use crate::domain::audit::{AuditEvent, FORWARDING_REASON};
use crate::domain::decision::{Stage, Verdict};

/// What identifies one call's events within an agent: events of a call share these.
type CallKey = (String, String, String, String);

/// What an unfinished call waits for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Awaiting {
    /// An escalated call waits for the decision on its approval row.
    Decision(String),
    /// An approved call waits for the rest of the pipeline (forwarding, a budget denial).
    Resumption(CallKey),
    /// A call written down before forwarding waits for the tool server's outcome.
    Outcome(CallKey),
}

impl Awaiting {
    /// Whether the call is blocked while it waits (an escalation is not an allow).
    fn blocked(&self) -> bool {
        matches!(self, Self::Decision(_))
    }
}

/// Calls and blocked calls of one agent; feed its events oldest first.
#[derive(Debug, Default)]
pub struct CallTally {
    pub calls: u64,
    pub blocked: u64,
    open: HashMap<Awaiting, u32>,
}

impl CallTally {
    pub fn feed(&mut self, e: &AuditEvent) {
        let blocked = !e.decision.is_empty() && e.decision != Verdict::Allow.as_str();
        match self.continued(e) {
            Some(was_blocked) => {
                self.blocked = self.blocked + u64::from(blocked) - u64::from(was_blocked);
            }
            None => {
                self.calls += 1;
                self.blocked += u64::from(blocked);
            }
        }
        if let Some(next) = awaits(e) {
            *self.open.entry(next).or_default() += 1;
        }
    }

    /// Closes the open call `e` continues, if any, and says whether it was blocked.
    fn continued(&mut self, e: &AuditEvent) -> Option<bool> {
        let key = || call_key(e);
        let candidates = if !e.pending_id.is_empty() {
            match e.decision == Verdict::Escalate.as_str() {
                true => vec![],
                false => vec![Awaiting::Decision(e.pending_id.clone())],
            }
        } else if e.check == Stage::Upstream.as_str() {
            vec![Awaiting::Outcome(key()), Awaiting::Resumption(key())]
        } else {
            vec![Awaiting::Resumption(key())]
        };
        let found = candidates.into_iter().find(|c| self.open.contains_key(c))?;
        let blocked = found.blocked();
        if let Some(n) = self.open.get_mut(&found) {
            *n -= 1;
            if *n == 0 {
                self.open.remove(&found);
            }
        }
        Some(blocked)
    }
}

/// What the call goes on to wait for after `e`, if `e` is not its last event.
fn awaits(e: &AuditEvent) -> Option<Awaiting> {
    let allow = e.decision == Verdict::Allow.as_str();
    if e.decision == Verdict::Escalate.as_str() && !e.pending_id.is_empty() {
        Some(Awaiting::Decision(e.pending_id.clone()))
    } else if allow && !e.pending_id.is_empty() {
        Some(Awaiting::Resumption(call_key(e)))
    } else if allow && e.check.is_empty() && e.reason == FORWARDING_REASON {
        Some(Awaiting::Outcome(call_key(e)))
    } else {
        None
    }
}

fn call_key(e: &AuditEvent) -> CallKey {
    (
        e.tenant.clone(),
        e.session_id.clone(),
        e.tool.clone(),
        e.capability_token_id.clone(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::Timestamp;

    fn ev(decision: &str, check: &str, reason: &str, pending: &str) -> AuditEvent {
        let mut e = AuditEvent::new(Timestamp::default(), decision, "send_email");
        e.check = check.into();
        e.reason = reason.into();
        e.pending_id = pending.into();
        e.capability_token_id = "jti-1".into();
        e
    }

    fn tally(events: &[AuditEvent]) -> (u64, u64) {
        let mut t = CallTally::default();
        events.iter().for_each(|e| t.feed(e));
        (t.calls, t.blocked)
    }

    fn pre_forward() -> AuditEvent {
        ev("allow", "", FORWARDING_REASON, "")
    }

    #[test]
    fn a_forwarded_call_is_one_call_blocked_by_its_outcome() {
        assert_eq!(
            tally(&[pre_forward(), ev("allow", "upstream", "forwarded", "")]),
            (1, 0)
        );
        let failed = ev("block", "upstream", "upstream timeout", "");
        assert_eq!(tally(&[pre_forward(), failed]), (1, 1));
        assert_eq!(
            tally(&[pre_forward()]),
            (1, 0),
            "the outcome is not in the window"
        );
    }

    #[test]
    fn an_outcome_without_its_pre_forward_event_is_a_call() {
        let forwarded = ev("allow", "upstream", "forwarded", "");
        assert_eq!(tally(&[forwarded.clone(), forwarded]), (2, 0));
    }

    #[test]
    fn an_approved_and_forwarded_call_is_one_call() {
        let events = [
            ev("escalate", "policy", "escalate: big refund", "p1"),
            ev("allow", "policy", "approved by alice", "p1"),
            pre_forward(),
            ev("allow", "upstream", "forwarded", ""),
        ];
        assert_eq!(tally(&events), (1, 0));
        assert_eq!(
            tally(&events[..1]),
            (1, 1),
            "waiting for a human is not an allow"
        );
    }

    #[test]
    fn rejected_or_expired_escalations_stay_blocked() {
        let rejected = [
            ev("escalate", "policy", "escalate: x", "p1"),
            ev("block", "policy", "rejected by bob", "p1"),
        ];
        assert_eq!(tally(&rejected), (1, 1));
        let approved_then_over_budget = [
            ev("escalate", "policy", "escalate: x", "p2"),
            ev("allow", "policy", "approved", "p2"),
            ev("block", "budget", "budget exceeded", ""),
        ];
        assert_eq!(tally(&approved_then_over_budget), (1, 1));
    }

    #[test]
    fn separate_calls_stay_separate() {
        let denied = ev("block", "capability", "revoked", "");
        let mut other_tool = pre_forward();
        other_tool.tool = "read_file".into();
        let outcome = ev("allow", "upstream", "forwarded", "");
        // The outcome belongs to send_email's pre-forward, not read_file's.
        let events = [denied.clone(), pre_forward(), other_tool, outcome, denied];
        assert_eq!(tally(&events), (4, 2));
    }
}

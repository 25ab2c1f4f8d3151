use super::*;

fn at(secs: i64) -> Timestamp {
    Timestamp::parse_rfc3339("2026-05-12T10:00:00Z")
        .unwrap()
        .plus_seconds(secs)
}

fn ev(secs: i64, agent: &str, tool: &str, decision: &str) -> AuditEvent {
    let mut e = AuditEvent::new(at(secs), decision, tool);
    e.agent_id = agent.into();
    e.tenant = "acme".into();
    e
}

/// Newest first, as a query returns them.
fn observe(mut oldest_first: Vec<AuditEvent>) -> Vec<ObservedAgent> {
    oldest_first.reverse();
    observe_agents(&oldest_first)
}

#[test]
fn agents_are_grouped_with_their_tools_sessions_and_times() {
    let mut s1 = ev(1, "bot", "send_email", "allow");
    s1.session_id = "s-1".into();
    let mut s2 = ev(3, "bot", "read_file", "block");
    s2.session_id = "s-2".into();
    let mut again = ev(5, "bot", "read_file", "allow");
    again.session_id = "s-2".into();
    let agents = observe(vec![s1, ev(2, "other", "x", "allow"), s2, again]);
    assert_eq!(agents.len(), 2);
    let bot = &agents[0];
    assert_eq!(bot.agent_id, "bot");
    assert_eq!(bot.tools, ["read_file", "send_email"]);
    assert_eq!((bot.calls, bot.blocked, bot.session_count), (3, 1, 2));
    assert_eq!((bot.first_seen, bot.last_seen), (at(1), at(5)));
    assert_eq!(bot.risk_signals, [RiskSignal::Outbound]);
    assert_eq!(agents[1].agent_id, "other");
}

#[test]
fn most_recent_first_then_by_id() {
    let agents = observe(vec![
        ev(1, "zed", "t", "allow"),
        ev(2, "beta", "t", "allow"),
        ev(2, "alpha", "t", "allow"),
    ]);
    let ids: Vec<&str> = agents.iter().map(|a| a.agent_id.as_str()).collect();
    assert_eq!(ids, ["alpha", "beta", "zed"]);
}

#[test]
fn blank_ids_are_one_unknown_agent_but_a_named_unknown_is_not() {
    let agents = observe(vec![
        ev(1, "", "t", "allow"),
        ev(2, "  ", "t", "block"),
        ev(3, "unknown", "t", "allow"),
    ]);
    assert_eq!(agents.len(), 2);
    let blank = agents.iter().find(|a| a.agent_id.is_empty()).unwrap();
    assert_eq!((blank.calls, blank.blocked), (2, 1));
    assert_eq!(blank.risk_signals, [RiskSignal::UnknownIdentity]);
}

#[test]
fn the_tenant_is_the_newest_one_named() {
    let mut old = ev(1, "bot", "t", "allow");
    old.tenant = "old".into();
    let mut none = ev(3, "bot", "t", "allow");
    none.tenant = String::new();
    let agents = observe(vec![old, ev(2, "bot", "t", "allow"), none]);
    assert_eq!(agents[0].tenant, "acme");
}

#[test]
fn empty_decisions_and_tools_do_not_count_as_blocked_or_tools() {
    let agents = observe(vec![ev(1, "bot", "", ""), ev(2, "bot", "t", "escalate")]);
    assert_eq!(agents[0].tools, ["t"]);
    assert_eq!((agents[0].calls, agents[0].blocked), (2, 1));
}

#[test]
fn no_events_no_agents() {
    assert!(observe_agents(&[]).is_empty());
}

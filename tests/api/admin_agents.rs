//! Agent discovery (`GET /v1/admin/agents`): grouping, counting calls rather than
//! events, windows, the 10,000-event bound and tenant confinement.

use intentgate::domain::approval::ApprovalVerdict;
use intentgate::domain::audit::{AuditEvent, chain_key, seal};
use intentgate::domain::time::Timestamp;
use serde_json::{Value, json};

use crate::escalation::{decide, escalating, pending_id, spawn_call};
use crate::support::{ADMIN_ENV, Answer, Backend, FakeServer, Reply, TestGateway, event, mint};

async fn agents(gw: &TestGateway, query: &str, token: &str) -> Answer {
    let path = format!("/v1/admin/agents{query}");
    gw.admin("GET", &path, Some(token), None).await
}

fn with_session(mut e: AuditEvent, session: &str) -> AuditEvent {
    e.session_id = session.into();
    e
}

/// acme: `billing-bot` (three calls, one blocked, two sessions), an agent without an
/// identity; globex: `billing-bot` again, later than all of acme's.
fn traffic() -> Vec<AuditEvent> {
    vec![
        with_session(
            event(
                "2026-05-12T10:00:00Z",
                "acme",
                "billing-bot",
                "create_invoice",
                "allow",
            ),
            "s-1",
        ),
        with_session(
            event(
                "2026-05-12T10:00:01Z",
                "acme",
                "billing-bot",
                "send_email",
                "block",
            ),
            "s-1",
        ),
        event("2026-05-12T10:00:02Z", "acme", "", "read_file", "allow"),
        with_session(
            event(
                "2026-05-12T10:00:03Z",
                "acme",
                "billing-bot",
                "create_invoice",
                "allow",
            ),
            "s-2",
        ),
        event(
            "2026-05-12T11:00:00Z",
            "globex",
            "billing-bot",
            "query_prod_db",
            "escalate",
        ),
    ]
}

pub async fn agents_are_grouped_counted_and_sorted(backend: Backend) {
    let gw = TestGateway::start(backend, &ADMIN_ENV).await;
    gw.seed(traffic()).await;
    let acme = agents(&gw, "?tenant=acme", "super").await;
    assert_eq!(acme.status, 200, "{}", acme.text);
    let want = json!({
        "agents": [
            {"agent_id": "billing-bot", "tenant": "acme",
             "tools": ["create_invoice", "send_email"],
             "risk_signals": ["outbound", "payment"], "calls": 3, "blocked": 1,
             "first_seen": "2026-05-12T10:00:00Z", "last_seen": "2026-05-12T10:00:03Z",
             "session_count": 2},
            {"agent_id": "", "tenant": "acme", "tools": ["read_file"],
             "risk_signals": ["unknown-identity"], "calls": 1, "blocked": 0,
             "first_seen": "2026-05-12T10:00:02Z", "last_seen": "2026-05-12T10:00:02Z",
             "session_count": 0},
        ],
        "events_scanned": 4,
    });
    assert_eq!(acme.json(), want);
    assert!(
        acme.text.ends_with("}\n"),
        "one JSON document and a newline"
    );
    // Every tenant: billing-bot is one agent across both, named by its newest tenant.
    let all = agents(&gw, "", "super").await.json();
    assert_eq!(all["events_scanned"], 5);
    let bot = &all["agents"][0];
    assert_eq!(
        (
            &bot["agent_id"],
            &bot["tenant"],
            &bot["calls"],
            &bot["blocked"]
        ),
        (
            &json!("billing-bot"),
            &json!("globex"),
            &json!(4),
            &json!(2)
        )
    );
    assert_eq!(
        bot["risk_signals"],
        json!(["outbound", "payment", "production-data"])
    );
}

pub async fn agents_windows_scope_and_errors(backend: Backend) {
    let gw = TestGateway::start(backend, &ADMIN_ENV).await;
    gw.seed(traffic()).await;
    let window = "?tenant=acme&from=2026-05-12T10:00:01Z&to=2026-05-12T10:00:02Z";
    let narrow = agents(&gw, window, "super").await.json();
    assert_eq!(narrow["events_scanned"], 2);
    let ids: Vec<&str> = narrow["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["agent_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["", "billing-bot"],
        "the blank id was seen last in this window"
    );
    // A tenant admin sees its own tenant, whatever it asks for.
    let own = agents(&gw, "", "tok-globex").await.json();
    assert_eq!(own["events_scanned"], 1);
    assert_eq!(own["agents"][0]["tenant"], "globex");
    let foreign = agents(&gw, "?tenant=acme", "tok-globex").await;
    assert_eq!(foreign.status, 403);
    assert_eq!(
        foreign.json()["error"],
        "tenant in query does not match admin token's tenant"
    );
    assert_eq!(agents(&gw, "", "wrong").await.status, 401);
    for (bad, name) in [("?from=yesterday", "from"), ("?to=2026-05-12", "to")] {
        let a = agents(&gw, bad, "super").await;
        assert_eq!(a.status, 400, "{bad}");
        let error = a.json()["error"].as_str().unwrap().to_owned();
        assert!(
            error.starts_with(&format!("invalid '{name}' timestamp: ")),
            "{error}"
        );
    }
    let nothing = agents(&gw, "?tenant=initech", "super").await;
    assert_eq!(nothing.text, "{\"agents\":[],\"events_scanned\":0}\n");
}

/// 10,001 events: the oldest one, the only call of `old-agent`, is past the bound.
pub async fn agents_read_at_most_10000_events(backend: Backend) {
    let gw = TestGateway::start(backend, &ADMIN_ENV).await;
    let start = Timestamp::parse_rfc3339("2026-05-12T00:00:00Z").unwrap();
    let mut head = None;
    for batch in 0..11_i64 {
        let n = if batch == 0 { 1 } else { 1000 };
        let events: Vec<AuditEvent> = (0..n)
            .map(|i| {
                let at = start.plus_nanos((batch * 1000 + i) * 1_000);
                let agent = if batch == 0 {
                    "old-agent"
                } else {
                    "busy-agent"
                };
                let mut e = AuditEvent::new(at, "allow", "t");
                e.tenant = "acme".into();
                e.agent_id = agent.into();
                e
            })
            .collect();
        let run = seal(chain_key("acme"), head.as_ref(), events);
        head = Some(run.last().unwrap().head());
        gw.gateway.stores.audit.append(&run).await.unwrap();
    }
    let found = agents(&gw, "?tenant=acme", "super").await.json();
    assert_eq!(found["events_scanned"], 10_000);
    let listed: Vec<(&str, u64)> = found["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["agent_id"].as_str().unwrap(),
                a["calls"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed, [("busy-agent", 10_000)]);
}

/// Real traffic through a tool server: an approved call leaves four events (escalation,
/// approval, the event before forwarding, the outcome) and a rejected one two; the
/// agent made two calls, one of them blocked.
pub async fn agents_count_calls_not_events(backend: Backend) {
    let up = FakeServer::start(|_| {
        Reply::json(r#"{"jsonrpc":"2.0","id":1,"result":{"content":[],"isError":false}}"#)
    })
    .await;
    let mut env = vec![("INTENTGATE_UPSTREAM_URL", up.url.as_str())];
    env.extend_from_slice(&ADMIN_ENV);
    let (gw, _policy) = escalating(backend, &env).await;
    for verdict in [ApprovalVerdict::Approve, ApprovalVerdict::Reject] {
        let call = spawn_call(&gw, mint("agent-x", "acme", vec![]));
        let id = pending_id(&gw).await;
        decide(&gw, &id, verdict, "alice", "").await;
        let answer: Value = call.await.unwrap();
        assert_eq!(answer["id"], 1, "{answer}");
    }
    assert_eq!(
        up.requests().len(),
        1,
        "only the approved call was forwarded"
    );
    let found = agents(&gw, "?tenant=acme", "tok-acme").await.json();
    assert_eq!(found["events_scanned"], 6);
    let agent = &found["agents"][0];
    assert_eq!(agent["agent_id"], "agent-x");
    assert_eq!((&agent["calls"], &agent["blocked"]), (&json!(2), &json!(1)));
    assert_eq!(agent["tools"], json!(["wire_money"]));
}

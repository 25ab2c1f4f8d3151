//! Approvals through the admin API (reference-admin-audit §13, scenarios 47–53).

use intentgate::domain::approval::{Approval, ApprovalStatus};
use intentgate::domain::time::Timestamp;
use serde_json::{Value, json};

use crate::escalation::{escalating, pending_id, spawn_call};
use crate::support::{ADMIN_ENV, Backend, TestGateway, mint};

fn row(id: &str, tenant: &str, secs: i64) -> Approval {
    Approval {
        pending_id: id.into(),
        tenant: tenant.into(),
        capability_token_id: String::new(),
        root_capability_token_id: String::new(),
        agent_id: "agent-x".into(),
        tool: "wire_money".into(),
        args: Some(json!({"amount_eur": 50000})),
        intent_summary: String::new(),
        reason: "needs human".into(),
        status: ApprovalStatus::Pending,
        created_at: Timestamp::from_unix_seconds(1_700_000_000 + secs),
        decided_at: None,
        decided_by: String::new(),
        decide_note: String::new(),
        requires_step_up: true,
    }
}

async fn enqueue(gw: &TestGateway, rows: &[Approval]) {
    for r in rows {
        gw.gateway.stores.approvals.create(r).await.unwrap();
    }
}

fn ids(v: &Value) -> Vec<&str> {
    v["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["pending_id"].as_str().unwrap())
        .collect()
}

async fn decide(gw: &TestGateway, token: &str, id: &str, body: &str) -> crate::support::Answer {
    let path = format!("/v1/admin/approvals/{id}/decide");
    gw.admin("POST", &path, Some(token), Some(body)).await
}

pub async fn s47_to_s50_list_and_decide(backend: Backend) {
    let gw = TestGateway::start(backend, &ADMIN_ENV).await;
    enqueue(&gw, &[row("p1", "acme", 0)]).await;
    assert_eq!(
        gw.admin("GET", "/v1/admin/approvals", None, None)
            .await
            .status,
        401
    );
    let list = gw
        .admin("GET", "/v1/admin/approvals", Some("super"), None)
        .await;
    assert_eq!(
        list.text,
        format!(
            "{{\"approvals\":[{}],\"limit\":100,\"offset\":0}}\n",
            row("p1", "acme", 0).to_json()
        )
    );
    let body = r#"{"decision":"approve","decided_by":"alice@acme","note":"reviewed"}"#;
    let ok = decide(&gw, "super", "p1", body).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let v = ok.json();
    assert_eq!(
        (v["status"].as_str(), v["decided_by"].as_str()),
        (Some("approved"), Some("alice@acme"))
    );
    assert_eq!(v["decide_note"], "reviewed");
    assert!(v["decided_at"].is_string());
    let again = decide(&gw, "super", "p1", r#"{"decision":"reject"}"#).await;
    assert_eq!(again.status, 409);
    assert_eq!(again.json()["error"], "already decided");
    assert_eq!(again.json()["current"]["status"], "approved");
    assert!(
        again
            .text
            .starts_with("{\"current\":{\"pending_id\":\"p1\""),
        "{}",
        again.text
    );
    let unknown = decide(&gw, "super", "nope", r#"{"decision":"approve"}"#).await;
    assert_eq!(
        (unknown.status, unknown.text.as_str()),
        (404, "{\"error\":\"pending id not found\"}\n")
    );
    let maybe = decide(&gw, "super", "p1", r#"{"decision":"maybe"}"#).await;
    assert_eq!(maybe.status, 400);
    assert_eq!(
        maybe.json()["error"],
        "decision must be \"approve\" or \"reject\""
    );
    let strict = decide(&gw, "super", "p1", r#"{"decision":"approve","why":1}"#).await;
    assert_eq!(strict.status, 400);
    let filtered = gw
        .admin(
            "GET",
            "/v1/admin/approvals?status=pending",
            Some("super"),
            None,
        )
        .await;
    assert!(ids(&filtered.json()).is_empty());
    let unknown_status = gw
        .admin(
            "GET",
            "/v1/admin/approvals?status=weird",
            Some("super"),
            None,
        )
        .await;
    // The reference matched nothing; the document lists the statuses, so an unknown
    // one is a client error the server names.
    assert_eq!(unknown_status.status, 400, "{}", unknown_status.text);
    assert_eq!(
        unknown_status.json()["error"],
        "status must be one of pending, approved, rejected, timeout"
    );
}

pub async fn s51_tenants_see_and_decide_only_their_rows(backend: Backend) {
    let gw = TestGateway::start(backend, &ADMIN_ENV).await;
    enqueue(&gw, &[row("a1", "acme", 0), row("g1", "globex", 1)]).await;
    let list = |t: &'static str| {
        let gw = &gw;
        async move {
            gw.admin("GET", "/v1/admin/approvals", Some(t), None)
                .await
                .json()
        }
    };
    assert_eq!(ids(&list("tok-acme").await), ["a1"]);
    assert_eq!(ids(&list("tok-globex").await), ["g1"]);
    assert_eq!(ids(&list("super").await), ["g1", "a1"], "newest first");
    let cross = decide(&gw, "tok-acme", "g1", r#"{"decision":"approve"}"#).await;
    assert_eq!(
        (cross.status, cross.text.as_str()),
        (404, "{\"error\":\"pending id not found\"}\n")
    );
    let own = decide(&gw, "tok-acme", "a1", r#"{"decision":"reject"}"#).await;
    assert_eq!(
        (own.status, own.json()["status"].as_str()),
        (200, Some("rejected"))
    );
}

pub async fn s52_s53_decisions_through_the_api_reach_the_waiting_call(backend: Backend) {
    let mut env = ADMIN_ENV.to_vec();
    env.push(("INTENTGATE_APPROVALS_BACKEND", "memory"));
    let (gw, _f) = escalating(backend, &env).await;
    let call = spawn_call(&gw, mint("agent-x", "acme", vec![]));
    let id = pending_id(&gw).await;
    let listed = gw
        .admin(
            "GET",
            "/v1/admin/approvals?status=pending",
            Some("tok-acme"),
            None,
        )
        .await;
    assert_eq!(ids(&listed.json()), [id.as_str()]);
    assert_eq!(listed.json()["approvals"][0]["requires_step_up"], true);
    let body = r#"{"decision":"approve","decided_by":"alice@acme"}"#;
    assert_eq!(decide(&gw, "tok-acme", &id, body).await.status, 200);
    let r = tokio::time::timeout(std::time::Duration::from_secs(5), call)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r["result"]["_intentgate"]["decision"], "allow", "{r}");
    let events = gw.audit("acme").await;
    assert_eq!(
        (
            events[0].event.decision.as_str(),
            events[0].event.pending_id.as_str()
        ),
        ("escalate", id.as_str())
    );
    assert_eq!(events[1].event.reason, "approved by alice@acme");
    assert_eq!(
        (
            events[1].event.pending_id.as_str(),
            events[1].event.decided_by.as_str()
        ),
        (id.as_str(), "alice@acme")
    );
}

pub async fn a_decision_after_the_window_conflicts(backend: Backend) {
    let mut env = ADMIN_ENV.to_vec();
    env.push(("INTENTGATE_APPROVAL_TIMEOUT_S", "1"));
    let (gw, _f) = escalating(backend, &env).await;
    let r = spawn_call(&gw, mint("agent-x", "acme", vec![]))
        .await
        .unwrap();
    let id = r["error"]["data"]["pending_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let late = decide(&gw, "super", &id, r#"{"decision":"approve"}"#).await;
    assert_eq!(late.status, 409);
    assert_eq!(late.json()["current"]["status"], "timeout");
}

pub async fn approvals_off_means_no_approval_routes(backend: Backend) {
    let mut env = ADMIN_ENV.to_vec();
    env.push(("INTENTGATE_APPROVALS_BACKEND", "off"));
    let gw = TestGateway::start(backend, &env).await;
    let list = gw
        .admin("GET", "/v1/admin/approvals", Some("super"), None)
        .await;
    assert_eq!(
        (list.status, list.text.as_str()),
        (404, "404 page not found\n")
    );
    let decide = decide(&gw, "super", "p1", r#"{"decision":"approve"}"#).await;
    assert_eq!(decide.status, 404);
    assert_eq!(
        gw.admin("GET", "/v1/admin/tenants", Some("super"), None)
            .await
            .status,
        200
    );
}

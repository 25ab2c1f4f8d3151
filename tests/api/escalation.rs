//! §14.5 Escalation.

use crate::support::Backend;
use std::sync::Arc;
use std::time::Duration;

use intentgate::domain::approval::{ApprovalDecision, ApprovalStatus, ApprovalVerdict};
use intentgate::domain::time::Timestamp;
use intentgate::ports::{ApprovalFilter, DecideOutcome};
use serde_json::{Value, json};

use crate::support::{TestGateway, mint, policy_file};

const ESCALATE: &str = "package intentgate.policy\nimport rego.v1\ndecision := {\"allow\": false, \"escalate\": true, \"requires_step_up\": true, \"reason\": \"needs human\"}\n";

pub async fn escalating(
    backend: Backend,
    extra: &[(&str, &str)],
) -> (TestGateway, tempfile::NamedTempFile) {
    let (file, path) = policy_file(ESCALATE);
    let mut env = vec![("INTENTGATE_POLICY_FILE", path.as_str())];
    env.extend_from_slice(extra);
    (TestGateway::start(backend, &env).await, file)
}

/// Waits until the gateway has a pending approval and returns its id.
pub async fn pending_id(gw: &TestGateway) -> String {
    for _ in 0..200 {
        let rows = gw
            .gateway
            .stores
            .approvals
            .list(&ApprovalFilter::default(), 10, 0)
            .await
            .unwrap();
        if let Some(row) = rows
            .into_iter()
            .find(|r| r.status == ApprovalStatus::Pending)
        {
            return row.pending_id;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no pending approval appeared");
}

pub async fn decide(
    gw: &TestGateway,
    id: &str,
    verdict: ApprovalVerdict,
    by: &str,
    note: &str,
) -> DecideOutcome {
    let decision = ApprovalDecision {
        verdict,
        decided_by: by.into(),
        note: note.into(),
        at: Timestamp::from_unix_seconds(1),
    };
    gw.gateway
        .approvals
        .as_ref()
        .unwrap()
        .decide(id, &decision)
        .await
        .unwrap()
}

pub fn spawn_call(gw: &TestGateway, token: String) -> tokio::task::JoinHandle<Value> {
    let url = gw.url.clone();
    tokio::spawn(async move {
        let body = crate::support::tool_call("wire_money", json!({"amount_eur": 50000}));
        let resp = reqwest::Client::new()
            .post(format!("{url}/v1/mcp"))
            .header("Authorization", format!("Bearer {token}"))
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        serde_json::from_str(&resp.text().await.unwrap()).unwrap()
    })
}

pub async fn s52_escalation_with_approvals_off(backend: Backend) {
    let (gw, _f) = escalating(backend, &[("INTENTGATE_APPROVALS_BACKEND", "off")]).await;
    let r = gw.call("wire_money", json!({}), None).await;
    assert_eq!(r["error"]["code"], -32012);
    assert_eq!(r["error"]["message"], "policy escalation required");
    assert!(
        r["error"]["data"]
            .as_str()
            .unwrap()
            .contains("INTENTGATE_APPROVALS_BACKEND"),
        "names the real variable"
    );
}

pub async fn s53_approved_call_completes_with_the_audit_sequence(backend: Backend) {
    let (gw, _f) = escalating(backend, &[]).await;
    let call = spawn_call(&gw, mint("agent-x", "acme", vec![]));
    let id = pending_id(&gw).await;
    let row = gw.gateway.stores.approvals.get(&id).await.unwrap().unwrap();
    assert_eq!(
        (
            row.tenant.as_str(),
            row.agent_id.as_str(),
            row.reason.as_str()
        ),
        ("acme", "agent-x", "needs human")
    );
    assert!(row.requires_step_up);
    assert_eq!(row.args, Some(json!({"amount_eur": 50000})));
    assert!(matches!(
        decide(&gw, &id, ApprovalVerdict::Approve, "alice@acme", "ok").await,
        DecideOutcome::Decided(_)
    ));
    let r = call.await.unwrap();
    assert_eq!(r["result"]["_intentgate"]["decision"], "allow", "{r}");
    let events: Vec<_> = gw
        .audit("acme")
        .await
        .into_iter()
        .map(|r| r.event)
        .collect();
    let summary: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|e| (e.decision.as_str(), e.check.as_str(), e.reason.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("escalate", "policy", "escalate: needs human"),
            ("allow", "policy", "approved by alice@acme: ok"),
            ("allow", "", "all four checks passed (stub upstream)"),
        ]
    );
    assert_eq!(
        (events[0].pending_id.as_str(), events[1].pending_id.as_str()),
        (id.as_str(), id.as_str())
    );
    assert_eq!(events[1].decided_by, "alice@acme");
}

pub async fn s54_rejected_call_names_the_reviewer_and_pending_id(backend: Backend) {
    let (gw, _f) = escalating(backend, &[]).await;
    let call = spawn_call(&gw, mint("agent-x", "acme", vec![]));
    let id = pending_id(&gw).await;
    decide(&gw, &id, ApprovalVerdict::Reject, "", "").await;
    let r = call.await.unwrap();
    assert_eq!(r["error"]["message"], "policy: rejected by reviewer");
    assert_eq!(
        r["error"]["data"],
        json!({"pending_id": id, "reason": "rejected by (anonymous)"})
    );
    let events = gw.audit("acme").await;
    assert_eq!(events.len(), 2, "escalate + one block");
    assert_eq!(events[1].event.decision, "block");
    assert_eq!(events[1].event.pending_id, id);
}

pub async fn s55_nobody_decides_and_the_window_expires(backend: Backend) {
    let (gw, _f) = escalating(backend, &[("INTENTGATE_APPROVAL_TIMEOUT_S", "1")]).await;
    let r = spawn_call(&gw, mint("agent-x", "acme", vec![]))
        .await
        .unwrap();
    assert_eq!(r["error"]["message"], "policy: approval window expired");
    assert_eq!(r["error"]["data"]["reason"], "approval window expired (1s)");
    let id = r["error"]["data"]["pending_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let row = gw.gateway.stores.approvals.get(&id).await.unwrap().unwrap();
    assert_eq!(row.status, ApprovalStatus::Timeout);
    assert!(matches!(
        decide(&gw, &id, ApprovalVerdict::Approve, "late", "").await,
        DecideOutcome::AlreadyDecided(_)
    ));
}

/// Backend-independent (it is about the HTTP server), so it runs once, on memory. The
/// clock is paused and jumps ahead whenever everything waits, so the server's timers
/// (a write or idle timeout, if one crept in) see 61 s pass without the test waiting.
#[tokio::test(start_paused = true)]
async fn a_61_second_approval_wait_still_gets_its_answer() {
    let backend = Backend::Memory;
    let (gw, _f) = escalating(backend, &[("INTENTGATE_APPROVAL_TIMEOUT_S", "120")]).await;
    let gw = Arc::new(gw);
    let call = spawn_call(&gw, mint("agent-x", "acme", vec![]));
    let id = pending_id(&gw).await;
    // Twice the reference's 30 s write timeout: the answer must still arrive.
    tokio::time::sleep(Duration::from_secs(61)).await;
    decide(&gw, &id, ApprovalVerdict::Approve, "bob", "").await;
    let r = call.await.unwrap();
    assert_eq!(r["result"]["_intentgate"]["decision"], "allow", "{r}");
}

pub async fn an_abandoned_wait_expires_its_approval(backend: Backend) {
    let (gw, _f) = escalating(backend, &[]).await;
    let call = spawn_call(&gw, mint("agent-x", "acme", vec![]));
    let id = pending_id(&gw).await;
    // A second waiter on the same row that goes away (its request future is dropped,
    // as on shutdown) expires the row instead of leaving it pending forever.
    let gate = Arc::clone(gw.gateway.approvals.as_ref().unwrap());
    let waiter = {
        let id = id.clone();
        tokio::spawn(async move { gate.wait(&id, Duration::from_secs(60)).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    waiter.abort();
    let r = call.await.unwrap();
    assert_eq!(
        r["error"]["message"], "policy: approval window expired",
        "{r}"
    );
    let row = gw.gateway.stores.approvals.get(&id).await.unwrap().unwrap();
    assert_eq!(row.status, ApprovalStatus::Timeout);
}

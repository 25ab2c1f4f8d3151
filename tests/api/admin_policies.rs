//! Policy drafts, promote/rollback/clear and dry-run through the admin API
//! (reference-admin-audit §13, scenarios 54–70).

use serde_json::{Value, json};

use crate::support::{ADMIN_ENV, Answer, Backend, TestGateway, event, mint, policy_file};

const ALLOW: &str = "package intentgate.policy\nimport rego.v1\ndecision := {\"allow\": true, \"reason\": \"ok\"}\n";
const DENY: &str = "package intentgate.policy\nimport rego.v1\ndecision := {\"allow\": false, \"reason\": \"denied by draft\"}\n";
const BLOCK_TRANSFERS: &str = "package intentgate.policy\nimport rego.v1\ndefault decision := {\"allow\": true}\ndecision := {\"allow\": false, \"reason\": \"no transfers\"} if input.tool == \"transfer_funds\"\n";
const BLOCK_BIG: &str = "package intentgate.policy\nimport rego.v1\ndefault decision := {\"allow\": true}\ndecision := {\"allow\": false, \"reason\": \"too big\"} if input.args.amount_eur > 10000\n";

async fn gateway(backend: Backend) -> (TestGateway, tempfile::NamedTempFile) {
    let (file, path) = policy_file(ALLOW);
    let mut env = ADMIN_ENV.to_vec();
    env.push(("INTENTGATE_POLICY_FILE", &path));
    let gw = TestGateway::start(backend, &env).await;
    (gw, file)
}

async fn post(gw: &TestGateway, path: &str, token: &str, body: Value) -> Answer {
    gw.admin("POST", path, Some(token), Some(&body.to_string()))
        .await
}

async fn create(gw: &TestGateway, token: &str, source: &str, tenant: &str) -> String {
    let body = json!({"name":"d","rego_source":source,"created_by":"ops","tenant":tenant});
    let a = post(gw, "/v1/admin/policies/drafts", token, body).await;
    assert_eq!(a.status, 201, "{}", a.text);
    a.json()["id"].as_str().unwrap().to_owned()
}

async fn promote(gw: &TestGateway, token: &str, draft: &str, tenant: &str) -> Answer {
    let body = json!({"draft_id":draft,"promoted_by":"ops","tenant":tenant});
    post(gw, "/v1/admin/policies/active", token, body).await
}

async fn last_admin_event(gw: &TestGateway, tenant: &str) -> intentgate::domain::audit::AuditEvent {
    let events = gw.audit(tenant).await.into_iter().map(|r| r.event);
    events.rev().find(|e| e.tool.starts_with("admin/")).unwrap()
}

/// The policy code of a call by a token of `tenant` (0 when it passed the policy).
async fn policy_code(gw: &TestGateway, tenant: &str) -> i64 {
    let r = gw
        .call(
            "read_invoice",
            json!({}),
            Some(&mint("bot", tenant, vec![])),
        )
        .await;
    r["error"]["code"].as_i64().unwrap_or(0)
}

pub async fn s54_to_s57_drafts(backend: Backend) {
    let (gw, _f) = gateway(backend).await;
    let bad = json!({"name":"x","rego_source":"package x\nthis is not rego"});
    let a = post(&gw, "/v1/admin/policies/drafts", "super", bad).await;
    assert_eq!(a.status, 400);
    assert!(
        a.json()["error"]
            .as_str()
            .unwrap()
            .starts_with("rego compile error: "),
        "{}",
        a.text
    );
    let empty = post(
        &gw,
        "/v1/admin/policies/drafts",
        "super",
        json!({"rego_source":"  "}),
    )
    .await;
    assert_eq!(empty.text, "{\"error\":\"rego_source is required\"}\n");
    let body = json!({"name":"v1","rego_source":ALLOW,"created_by":"ops"});
    let created = post(&gw, "/v1/admin/policies/drafts", "super", body).await;
    assert_eq!(created.status, 201);
    let d = created.json();
    assert_eq!(d["id"].as_str().unwrap().len(), 16);
    assert_eq!(
        (d["name"].as_str(), d["created_by"].as_str()),
        (Some("v1"), Some("ops"))
    );
    assert!(d.get("tenant").is_none());
    let cross = json!({"rego_source":ALLOW,"tenant":"globex"});
    assert_eq!(
        post(&gw, "/v1/admin/policies/drafts", "tok-acme", cross)
            .await
            .status,
        403
    );
    let a1 = create(&gw, "tok-acme", ALLOW, "").await;
    create(&gw, "super", ALLOW, "globex").await;
    let list = |t: &'static str, q: &'static str| {
        let gw = &gw;
        async move {
            let a = gw
                .admin(
                    "GET",
                    &format!("/v1/admin/policies/drafts{q}"),
                    Some(t),
                    None,
                )
                .await;
            a.json()["drafts"].as_array().unwrap().len()
        }
    };
    assert_eq!(list("super", "").await, 3);
    assert_eq!(list("tok-acme", "").await, 1);
    assert_eq!(list("super", "?tenant=globex").await, 1);
    assert_eq!(
        gw.admin(
            "GET",
            "/v1/admin/policies/drafts?tenant=globex",
            Some("tok-acme"),
            None
        )
        .await
        .status,
        403
    );
    let own = gw
        .admin(
            "GET",
            &format!("/v1/admin/policies/drafts/{a1}"),
            Some("tok-acme"),
            None,
        )
        .await;
    assert_eq!(own.json()["tenant"], "acme");
    let hidden = gw
        .admin(
            "GET",
            &format!("/v1/admin/policies/drafts/{a1}"),
            Some("tok-globex"),
            None,
        )
        .await;
    assert_eq!(
        (hidden.status, hidden.text.as_str()),
        (404, "{\"error\":\"draft not found\"}\n")
    );
    let update = json!({"name":"renamed","rego_source":DENY,"tenant":"ignored"}).to_string();
    let put = gw
        .admin(
            "PUT",
            &format!("/v1/admin/policies/drafts/{a1}"),
            Some("tok-acme"),
            Some(&update),
        )
        .await;
    assert_eq!(
        (put.json()["name"].as_str(), put.json()["tenant"].as_str()),
        (Some("renamed"), Some("acme"))
    );
}

pub async fn s58_to_s60_promote_and_delete(backend: Backend) {
    let (gw, _f) = gateway(backend).await;
    let deny = create(&gw, "tok-acme", DENY, "").await;
    assert_eq!(
        gw.admin(
            "DELETE",
            &format!("/v1/admin/policies/drafts/{deny}"),
            None,
            None
        )
        .await
        .status,
        401
    );
    let a = promote(&gw, "tok-acme", &deny, "").await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json()["swapped"], true);
    assert_eq!(a.json()["active"]["current_draft_id"], deny.as_str());
    assert_eq!(policy_code(&gw, "acme").await, -32012, "acme now denies");
    assert_eq!(
        policy_code(&gw, "globex").await,
        0,
        "the default slot still allows"
    );
    assert_eq!(promote(&gw, "tok-acme", &deny, "globex").await.status, 403);
    let busy = gw
        .admin(
            "DELETE",
            &format!("/v1/admin/policies/drafts/{deny}"),
            Some("super"),
            None,
        )
        .await;
    assert_eq!(busy.status, 409);
    assert!(
        busy.text
            .contains("promote a different draft or rollback first")
    );
    let e = last_admin_event(&gw, "acme").await;
    assert_eq!(e.tool, "admin/promote_policy");
    assert_eq!(
        e.reason,
        format!("policy promoted: tenant=acme draft={deny} prior= by=ops")
    );
    let v2 = create(&gw, "super", DENY, "").await;
    assert_eq!(promote(&gw, "super", &v2, "").await.status, 200);
    assert_eq!(
        policy_code(&gw, "globex").await,
        -32012,
        "the default slot now denies"
    );
    let spare = create(&gw, "super", ALLOW, "").await;
    let gone = gw
        .admin(
            "DELETE",
            &format!("/v1/admin/policies/drafts/{spare}"),
            Some("super"),
            None,
        )
        .await;
    assert_eq!(gone.text, format!("{{\"id\":\"{spare}\",\"ok\":true}}\n"));
}

pub async fn s61_s62_rollback(backend: Backend) {
    let (gw, _f) = gateway(backend).await;
    let none = post(&gw, "/v1/admin/policies/rollback", "super", json!({})).await;
    assert_eq!(
        (none.status, none.text.as_str()),
        (404, "{\"error\":\"no previous policy to roll back to\"}\n")
    );
    let d1 = create(&gw, "super", ALLOW, "").await;
    let d2 = create(&gw, "super", DENY, "").await;
    promote(&gw, "super", &d1, "").await;
    promote(&gw, "super", &d2, "").await;
    assert_eq!(policy_code(&gw, "acme").await, -32012);
    let back = gw
        .admin("POST", "/v1/admin/policies/rollback", Some("super"), None)
        .await;
    assert_eq!(back.status, 200, "{}", back.text);
    assert_eq!(back.json()["active"]["current_draft_id"], d1.as_str());
    assert!(back.json()["active"].get("previous_draft_id").is_none());
    assert_eq!(policy_code(&gw, "acme").await, 0);
    assert_eq!(
        post(&gw, "/v1/admin/policies/rollback", "super", json!({}))
            .await
            .status,
        404
    );
    let e = last_admin_event(&gw, "").await;
    assert_eq!(
        e.reason,
        format!("policy rolled back to: tenant= draft={d1} by=")
    );
}

pub async fn s63_s64_clear_and_active_view(backend: Backend) {
    let (gw, _f) = gateway(backend).await;
    let fresh = gw
        .admin("GET", "/v1/admin/policies/active", Some("super"), None)
        .await
        .json();
    assert!(fresh["source"].as_str().unwrap().starts_with("file:"));
    assert!(fresh["active"].get("current_draft_id").is_none());
    assert!(fresh["active"].get("promoted_at").is_none());
    let deny = create(&gw, "tok-acme", DENY, "").await;
    promote(&gw, "tok-acme", &deny, "").await;
    let view = gw
        .admin("GET", "/v1/admin/policies/active", Some("tok-acme"), None)
        .await
        .json();
    assert_eq!(view["source"], "draft");
    assert_eq!(view["current_draft"]["id"], deny.as_str());
    assert!(
        !view["active"]["promoted_at"]
            .as_str()
            .unwrap()
            .starts_with("0001")
    );
    let cleared = gw
        .admin(
            "DELETE",
            "/v1/admin/policies/active",
            Some("tok-acme"),
            None,
        )
        .await;
    assert_eq!(
        cleared.text,
        "{\"cleared\":{\"tenant\":\"acme\"},\"swapped\":true}\n"
    );
    assert_eq!(
        policy_code(&gw, "acme").await,
        0,
        "acme falls back to the default"
    );
    let cross = gw
        .admin(
            "DELETE",
            "/v1/admin/policies/active?tenant=globex",
            Some("tok-acme"),
            None,
        )
        .await;
    assert_eq!(cross.status, 403);
    let e = last_admin_event(&gw, "acme").await;
    assert_eq!(
        (e.tool.as_str(), e.reason.as_str()),
        ("admin/clear_policy", "policy slot cleared: tenant=acme")
    );
    let d = create(&gw, "super", ALLOW, "").await;
    promote(&gw, "super", &d, "").await;
    let fallback = gw
        .admin("GET", "/v1/admin/policies/active", Some("tok-acme"), None)
        .await
        .json();
    assert_eq!(fallback["source"], "fallback");
    assert_eq!(fallback["current_draft"]["id"], d.as_str());
}

pub async fn s64_the_embedded_default_is_labelled(backend: Backend) {
    let gw = TestGateway::start(backend, &ADMIN_ENV).await;
    let v = gw
        .admin("GET", "/v1/admin/policies/active", Some("super"), None)
        .await
        .json();
    assert_eq!(v["source"], "embedded default");
    assert_eq!(v["active"], json!({}));
    let blank = post(
        &gw,
        "/v1/admin/policies/active",
        "super",
        json!({"draft_id":"  "}),
    )
    .await;
    assert_eq!(blank.text, "{\"error\":\"draft_id is required\"}\n");
}

pub async fn s65_repromoting_the_current_draft_changes_nothing(backend: Backend) {
    let (gw, _f) = gateway(backend).await;
    let d = create(&gw, "super", ALLOW, "").await;
    let first = promote(&gw, "super", &d, "").await.json();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let body = json!({"draft_id":d,"promoted_by":"someone-else"});
    let again = post(&gw, "/v1/admin/policies/active", "super", body)
        .await
        .json();
    assert_eq!(first["active"], again["active"]);
    let promotes = gw
        .audit("default")
        .await
        .iter()
        .filter(|r| r.event.tool == "admin/promote_policy")
        .count();
    assert_eq!(promotes, 2, "both promotes are audited");
}

async fn dry_run(gw: &TestGateway, token: &str, body: Value) -> Answer {
    post(gw, "/v1/admin/policies/dry-run", token, body).await
}

pub async fn s67_to_s69_dry_run(backend: Backend) {
    let (gw, _f) = gateway(backend).await;
    gw.seed(vec![
        event(
            "2026-05-12T10:00:00Z",
            "acme",
            "a",
            "transfer_funds",
            "allow",
        ),
        event(
            "2026-05-12T10:00:01Z",
            "globex",
            "a",
            "read_invoice",
            "allow",
        ),
    ])
    .await;
    let a = dry_run(&gw, "super", json!({"rego":BLOCK_TRANSFERS,"ignored":1})).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let v = a.json();
    assert_eq!(v["summary"]["events_evaluated"], 2);
    assert_eq!(
        (
            v["summary"]["would_block"].as_u64(),
            v["summary"]["allow_to_block"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(v["samples"].as_array().unwrap().len(), 1);
    assert_eq!(v["samples"][0]["candidate_decision"], "block");
    assert_eq!(v["samples"][0]["candidate_reason"], "no transfers");
    assert_eq!(
        dry_run(&gw, "super", json!({"rego":"nope nope"}))
            .await
            .status,
        400
    );
    let missing = dry_run(&gw, "super", json!({})).await;
    assert_eq!(
        (missing.status, missing.text.as_str()),
        (400, "{\"error\":\"missing required field \\\"rego\\\"\"}\n")
    );
    assert_eq!(
        gw.admin("POST", "/v1/admin/policies/dry-run", None, Some("{}"))
            .await
            .status,
        401
    );
    let own = dry_run(&gw, "tok-acme", json!({"rego":BLOCK_TRANSFERS}))
        .await
        .json();
    assert_eq!(
        (
            own["summary"]["events_evaluated"].as_u64(),
            own["window"]["tenant"].as_str()
        ),
        (Some(1), Some("acme"))
    );
    assert_eq!(
        dry_run(&gw, "tok-acme", json!({"rego":ALLOW,"tenant":"globex"}))
            .await
            .status,
        403
    );
    let window =
        json!({"rego":ALLOW,"from":"2026-05-12T10:00:01Z","to":"2026-05-12T11:00:00Z","limit":-3});
    let w = dry_run(&gw, "super", window).await.json();
    assert_eq!(w["summary"]["events_evaluated"], 1);
    assert_eq!(
        (w["window"]["from"].as_str(), w["window"]["limit"].as_i64()),
        (Some("2026-05-12T10:00:01Z"), Some(10000))
    );
}

pub async fn s70_dry_run_samples_and_warnings(backend: Backend) {
    let (gw, _f) = gateway(backend).await;
    let none = dry_run(&gw, "super", json!({"rego":BLOCK_BIG}))
        .await
        .json();
    assert_eq!(none["summary"]["events_evaluated"], 0);
    assert_eq!(none["warnings"].as_array().unwrap().len(), 1);
    let mut events = Vec::new();
    for i in 0..30 {
        let mut e = event(
            &format!("2026-05-12T10:00:{i:02}Z"),
            "acme",
            "a",
            "transfer_funds",
            "allow",
        );
        e.arg_keys = vec!["amount_eur".into()];
        if i < 10 {
            e.arg_values = Some(json!({"amount_eur": 25000}));
        }
        events.push(e);
    }
    gw.seed(events).await;
    let v = dry_run(&gw, "super", json!({"rego":BLOCK_BIG,"max_samples":5}))
        .await
        .json();
    assert_eq!(
        (
            v["summary"]["allow_to_block"].as_u64(),
            v["samples"].as_array().unwrap().len()
        ),
        (Some(10), 5)
    );
    let ts: Vec<&str> = v["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["ts"].as_str().unwrap())
        .collect();
    let mut sorted = ts.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ts, sorted, "samples newest first");
    assert_eq!(v["samples"][0]["arg_keys"], json!(["amount_eur"]));
    let warning = v["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains("rolling upgrade") && warning.contains("argument values"),
        "{warning}"
    );
    let only_old = json!({"rego":BLOCK_BIG,"to":"2026-05-12T10:00:09Z"});
    let w = dry_run(&gw, "super", only_old).await.json();
    assert!(
        w["warnings"][0]
            .as_str()
            .unwrap()
            .contains("argument values")
    );
    let recent = json!({"rego":BLOCK_BIG,"from":"2026-05-12T10:00:10Z"});
    let w = dry_run(&gw, "super", recent).await.json();
    assert!(
        w["warnings"][0]
            .as_str()
            .unwrap()
            .contains("INTENTGATE_AUDIT_PERSIST_ARG_VALUES=scalars")
    );
    let tool_only = dry_run(&gw, "super", json!({"rego":BLOCK_TRANSFERS}))
        .await
        .json();
    assert!(tool_only.get("warnings").is_none(), "{tool_only}");
}

/// A promotion waits while a policy sync holds the slots (the lock they share), so a
/// sync that read the slots before it cannot install the older policy after it
/// (`src/app/policy_sync.rs` tests the sync's side).
#[tokio::test]
async fn a_promotion_waits_for_a_sync_in_progress() {
    let (gw, _f) = gateway(Backend::Memory).await;
    let gw = std::sync::Arc::new(gw);
    let draft = create(&gw, "super", DENY, "").await;
    let writes = std::sync::Arc::clone(&gw.gateway.policy_writes);
    let sync = writes.lock().await;
    let promoting = tokio::spawn({
        let (gw, draft) = (std::sync::Arc::clone(&gw), draft.clone());
        async move { promote(&gw, "super", &draft, "").await.status }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        !promoting.is_finished(),
        "the promotion went ahead of the sync"
    );
    let slot = || gw.admin("GET", "/v1/admin/policies/active", Some("super"), None);
    let before = slot().await.json();
    assert!(
        before["active"].get("current_draft_id").is_none(),
        "{before}"
    );
    assert_eq!(
        policy_code(&gw, "acme").await,
        0,
        "the old policy still runs"
    );
    drop(sync);
    assert_eq!(promoting.await.unwrap(), 200);
    assert_eq!(
        slot().await.json()["active"]["current_draft_id"],
        draft.as_str()
    );
    assert_ne!(
        policy_code(&gw, "acme").await,
        0,
        "the promoted draft denies"
    );
}

//! §14.3 Intent.

use crate::support::Backend;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{FakeServer, Reply, TestGateway, mint, tool_call};

const CANNED: &str = r#"{"intent":{"summary":"Process AP invoices","allowed_tools":["read_invoice","record_in_ledger"],"forbidden_tools":["send_email","transfer_funds"],"confidence":0.85},"model":"m","latency_ms":3}"#;

async fn call_with_prompt(gw: &TestGateway, tool: &str, prompt: &str, token: &str) -> Value {
    let auth = format!("Bearer {token}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("X-Intent-Prompt", prompt),
    ];
    gw.rpc(&tool_call(tool, json!({})), &headers).await
}

pub async fn s37_s38_extractor_lists_decide(backend: Backend) {
    let ex = FakeServer::start(|_| Reply::json(CANNED)).await;
    let gw = TestGateway::start(backend, &[("INTENTGATE_EXTRACTOR_URL", &ex.url)]).await;
    let token = mint("agent-x", "acme", vec![]);
    let ok = call_with_prompt(&gw, "read_invoice", "Process today's AP invoices", &token).await;
    assert!(ok.get("result").is_some(), "{ok}");
    let seen = &ex.requests()[0];
    assert_eq!(seen.path, "/v1/extract");
    assert_eq!(
        seen.body,
        r#"{"prompt":"Process today's AP invoices","agent_id":"agent-x"}"#
    );
    let forbidden =
        call_with_prompt(&gw, "send_email", "Process today's AP invoices", &token).await;
    assert_eq!(forbidden["error"]["code"], -32011);
    assert_eq!(forbidden["error"]["message"], "intent check failed");
    assert_eq!(
        forbidden["error"]["data"],
        "tool is in intent.forbidden_tools"
    );
    let other = call_with_prompt(&gw, "web_search", "Process today's AP invoices", &token).await;
    assert_eq!(other["error"]["data"], "tool not in intent.allowed_tools");
    let events = gw.audit("acme").await;
    assert_eq!(events[1].event.intent_summary, "Process AP invoices");
}

pub async fn s39_cache_hits_by_prompt_and_agent(backend: Backend) {
    let ex = FakeServer::start(|_| Reply::json(CANNED)).await;
    let gw = TestGateway::start(backend, &[("INTENTGATE_EXTRACTOR_URL", &ex.url)]).await;
    let token = mint("agent-x", "acme", vec![]);
    call_with_prompt(&gw, "read_invoice", "same prompt", &token).await;
    call_with_prompt(&gw, "read_invoice", "same prompt", &token).await;
    assert_eq!(ex.requests().len(), 1);
    call_with_prompt(&gw, "read_invoice", "other prompt", &token).await;
    assert_eq!(ex.requests().len(), 2);
    let other_agent = mint("agent-y", "acme", vec![]);
    call_with_prompt(&gw, "read_invoice", "same prompt", &other_agent).await;
    assert_eq!(ex.requests().len(), 3, "the cache key includes the agent");
}

pub async fn s40_extractor_failures_deny(backend: Backend) {
    let ex = FakeServer::start(|_| Reply {
        status: 500,
        body: "boom".into(),
        delay: Duration::ZERO,
    })
    .await;
    let gw = TestGateway::start(backend, &[("INTENTGATE_EXTRACTOR_URL", &ex.url)]).await;
    let token = mint("agent-x", "acme", vec![]);
    let failed = call_with_prompt(&gw, "read_invoice", "p", &token).await;
    assert_eq!(failed["error"]["code"], -32011);
    assert_eq!(
        failed["error"]["data"],
        "extractor returned 500 Internal Server Error: boom"
    );
    let down = TestGateway::start(
        backend,
        &[("INTENTGATE_EXTRACTOR_URL", "http://127.0.0.1:1")],
    )
    .await;
    let refused = call_with_prompt(&down, "read_invoice", "p", &token).await;
    assert!(
        refused["error"]["data"]
            .as_str()
            .unwrap()
            .starts_with("extractor request: Post \"http://127.0.0.1:1/v1/extract\""),
        "{refused}"
    );
}

pub async fn s41_strict_intent(backend: Backend) {
    let gw = TestGateway::start(backend, &[("INTENTGATE_REQUIRE_INTENT", "true")]).await;
    let token = mint("agent-x", "acme", vec![]);
    let none = gw.call("read_invoice", json!({}), Some(&token)).await;
    assert_eq!(
        none["error"]["data"],
        "intent prompt required (INTENTGATE_REQUIRE_INTENT=true)"
    );
    let no_extractor = call_with_prompt(&gw, "read_invoice", "p", &token).await;
    assert_eq!(
        no_extractor["error"]["data"],
        "intent prompt provided but no extractor URL is configured"
    );
    let dev = TestGateway::start(backend, &[]).await;
    assert!(
        call_with_prompt(&dev, "read_invoice", "p", &token)
            .await
            .get("result")
            .is_some()
    );
}

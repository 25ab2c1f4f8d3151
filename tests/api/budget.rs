//! §14.6 Budget.

use crate::support::Backend;
use intentgate::domain::token::{Caveat, attenuate, decode};
use serde_json::{Value, json};

use crate::support::{TestGateway, mint};

fn data(v: &Value) -> String {
    v["error"]["data"].as_str().unwrap_or_default().to_owned()
}

pub async fn s58_single_limit(backend: Backend) {
    let gw = TestGateway::start(backend, &[]).await;
    let token = mint("agent-x", "acme", vec![Caveat::max_calls(2)]);
    for _ in 0..2 {
        assert!(
            gw.call("read_invoice", json!({}), Some(&token))
                .await
                .get("result")
                .is_some()
        );
    }
    let third = gw.call("read_invoice", json!({}), Some(&token)).await;
    assert_eq!(third["error"]["code"], -32013);
    assert_eq!(third["error"]["message"], "budget check failed");
    assert_eq!(data(&third), "max_calls exceeded (3 > 2)");
    let last = gw.audit("acme").await.pop().unwrap().event;
    assert_eq!(
        (last.decision.as_str(), last.check.as_str()),
        ("block", "budget")
    );
}

pub async fn s59_strictest_limit_wins_and_the_first_exceeded_is_named(backend: Backend) {
    let gw = TestGateway::start(backend, &[]).await;
    let token = mint(
        "agent-x",
        "acme",
        vec![Caveat::max_calls(5), Caveat::max_calls(1)],
    );
    gw.call("read_invoice", json!({}), Some(&token)).await;
    assert_eq!(
        data(&gw.call("read_invoice", json!({}), Some(&token)).await),
        "max_calls exceeded (2 > 1)"
    );
}

pub async fn s60_s61_zero_limits_isolation_and_shared_children(backend: Backend) {
    let gw = TestGateway::start(backend, &[]).await;
    let unlimited = mint("agent-x", "acme", vec![Caveat::max_calls(0)]);
    for _ in 0..3 {
        assert!(
            gw.call("read_invoice", json!({}), Some(&unlimited))
                .await
                .get("result")
                .is_some()
        );
    }
    let a = mint("agent-x", "acme", vec![Caveat::max_calls(1)]);
    let b = mint("agent-x", "acme", vec![Caveat::max_calls(1)]);
    assert!(
        gw.call("read_invoice", json!({}), Some(&a))
            .await
            .get("result")
            .is_some()
    );
    assert!(
        gw.call("read_invoice", json!({}), Some(&b))
            .await
            .get("result")
            .is_some(),
        "tokens do not share counters"
    );
    let parent = mint("agent-x", "acme", vec![Caveat::max_calls(2)]);
    let child = attenuate(
        &decode(&parent).unwrap(),
        Caveat::tool_deny(vec!["x".into()]),
    )
    .unwrap()
    .encode();
    gw.call("read_invoice", json!({}), Some(&parent)).await;
    gw.call("read_invoice", json!({}), Some(&child)).await;
    assert_eq!(
        data(&gw.call("read_invoice", json!({}), Some(&child)).await),
        "max_calls exceeded (3 > 2)"
    );
}

pub async fn s62_strict_budget_needs_a_token(backend: Backend) {
    let gw = TestGateway::start(backend, &[("INTENTGATE_REQUIRE_BUDGET", "true")]).await;
    let r = gw.call("read_invoice", json!({}), None).await;
    assert_eq!(
        data(&r),
        "budget enforcement requires a verified capability token"
    );
}

pub async fn concurrent_calls_never_overspend(backend: Backend) {
    let gw = TestGateway::start(backend, &[]).await;
    let token = mint("agent-x", "acme", vec![Caveat::max_calls(10)]);
    let calls: Vec<_> = (0..40)
        .map(|_| {
            let (url, token) = (gw.url.clone(), token.clone());
            tokio::spawn(async move {
                let body = crate::support::tool_call("read_invoice", json!({}));
                let resp = reqwest::Client::new()
                    .post(format!("{url}/v1/mcp"))
                    .header("Authorization", format!("Bearer {token}"))
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap();
                resp.text().await.unwrap().contains("\"result\"")
            })
        })
        .collect();
    let mut allowed = 0;
    for c in calls {
        allowed += usize::from(c.await.unwrap());
    }
    assert_eq!(allowed, 10);
}

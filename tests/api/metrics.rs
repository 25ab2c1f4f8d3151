//! `GET /metrics` (reference-admin-audit §10.1): present only when enabled, with the
//! reference's names, labels and buckets, and our audit metrics. The recorder is
//! process-wide, so this runs once, on memory.

use serde_json::json;

use crate::support::{Backend, TestGateway, mint};

#[tokio::test]
async fn metrics_are_exported_when_enabled() {
    let off = TestGateway::start(Backend::Memory, &[]).await;
    assert_eq!(off.get("/metrics").await.status().as_u16(), 404);
    let gw = TestGateway::start(Backend::Memory, &[("INTENTGATE_METRICS_ENABLED", "true")]).await;
    let token = mint("bot", "acme", vec![]);
    gw.call("read_invoice", json!({}), Some(&token)).await;
    gw.call("read_invoice", json!({}), Some("garbage")).await;
    let odd = reqwest::Method::from_bytes(b"BREW").unwrap();
    reqwest::Client::new()
        .request(odd, format!("{}/v1/mcp", gw.url))
        .send()
        .await
        .unwrap();
    let resp = gw.get("/metrics").await;
    assert_eq!(resp.status().as_u16(), 200);
    let text = resp.text().await.unwrap();
    for needle in [
        "intentgate_gateway_http_requests_total{method=\"POST\",route=\"/v1/mcp\",status=\"2xx\"}",
        "intentgate_gateway_http_request_duration_seconds_bucket{method=\"POST\",route=\"/v1/mcp\",le=\"0.001\"}",
        "intentgate_gateway_http_request_duration_seconds_bucket{method=\"POST\",route=\"/v1/mcp\",le=\"2.048\"}",
        "intentgate_gateway_check_decisions_total{check=\"capability\",decision=\"allow\"}",
        "intentgate_gateway_check_decisions_total{check=\"capability\",decision=\"block\"}",
        "intentgate_gateway_check_decisions_total{check=\"intent\",decision=\"skip\"}",
        "intentgate_gateway_check_decisions_total{check=\"budget\",decision=\"allow\"}",
        "intentgate_gateway_http_requests_total{method=\"other\",route=\"/v1/mcp\",status=\"4xx\"}",
        "intentgate_gateway_check_duration_seconds_bucket{check=\"policy\",le=\"0.0001\"}",
        "intentgate_gateway_revocation_lookups_total{result=\"not_revoked\"}",
        "intentgate_gateway_audit_append_duration_seconds_bucket",
        "intentgate_gateway_audit_batch_size_bucket",
        "intentgate_gateway_audit_chain_head_age_seconds",
        "process_resident_memory_bytes",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let name = line.split(['{', ' ']).next().unwrap();
        assert!(
            intentgate::instruments::is_exported(name),
            "undeclared series {name}"
        );
        assert!(
            !line.contains("agent") && !line.contains("tool="),
            "unbounded label: {line}"
        );
    }
}

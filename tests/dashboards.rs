//! The Grafana dashboard queries only metrics the gateway exports, and keeps the
//! reference dashboard's panels (so its users' alerts and habits carry over).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use intentgate::instruments::is_exported;
use serde_json::Value;

fn dashboard() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/dashboards/intentgate-gateway.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every panel, including those nested in collapsed rows.
fn panels(d: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().unwrap() {
        out.push(p);
        if let Some(inner) = p["panels"].as_array() {
            out.extend(inner);
        }
    }
    out
}

/// Metric-looking identifiers in a PromQL expression (ours and `process_*`).
fn series(expr: &str) -> Vec<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| {
            w.starts_with("intentgate_") || w.starts_with("process_") || w.starts_with("go_")
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_queried_metric_is_exported() {
    let d = dashboard();
    let mut seen = 0;
    for p in panels(&d) {
        for target in p["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap();
            for name in series(expr) {
                seen += 1;
                assert!(
                    is_exported(&name),
                    "panel {} queries {name}, which /metrics does not export",
                    p["id"]
                );
            }
        }
    }
    assert!(seen > 20, "found only {seen} metric references");
}

#[test]
fn the_reference_panels_are_kept() {
    let d = dashboard();
    assert_eq!(d["uid"], "intentgate-gateway-ops");
    let titles: Vec<(i64, String)> = panels(&d)
        .iter()
        .map(|p| {
            (
                p["id"].as_i64().unwrap(),
                p["title"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let want = [
        (1, "Request rate"),
        (2, "p99 latency"),
        (3, "Deny rate"),
        (4, "Upstream success"),
        (5, "Decisions by check stage"),
        (6, "Per-check evaluation latency (p99)"),
        (7, "End-to-end HTTP latency (p50 / p95 / p99)"),
        (8, "Upstream forward outcomes"),
        (9, "Upstream forward latency (p99)"),
        (10, "Revocation lookups"),
        (11, "Revocation lookup latency (p99)"),
    ];
    for (id, title) in want {
        assert!(
            titles.contains(&(id, title.to_owned())),
            "panel {id} {title:?} missing"
        );
    }
    assert!(
        titles.len() >= 15 + 6,
        "15 panels plus row headers at least"
    );
}

#[test]
fn the_checker_rejects_unknown_metrics() {
    assert!(!is_exported("intentgate_gateway_made_up_total"));
    assert!(!is_exported("go_goroutines"));
    assert!(is_exported(
        "intentgate_gateway_http_request_duration_seconds_bucket"
    ));
    assert!(!is_exported(
        "intentgate_gateway_http_requests_total_bucket"
    ));
}

//! `igctl` against a live gateway: an NDJSON export verifies offline exactly as
//! `GET /v1/admin/audit/verify` answers; `igctl revoke` and `igctl agents` go through the
//! admin API.

use std::collections::HashMap;
use std::path::Path;
use std::process::Output;

use intentgate::domain::audit::AuditEvent;
use serde_json::Value;

use crate::support::{ADMIN_ENV, Backend, TestGateway, event};

/// Runs igctl off the runtime's threads, without the environment's defaults.
async fn igctl(args: &[&str]) -> Output {
    igctl_with(args, &[]).await
}

/// [`igctl`] with only the given environment added.
pub async fn igctl_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_igctl"))
            .args(&args)
            .env_remove("INTENTGATE_GATEWAY_URL")
            .env_remove("INTENTGATE_ADMIN_TOKEN")
            .env_remove("INTENTGATE_LOG_KEY")
            .env_remove("INTENTGATE_LOG_NAME")
            .envs(env)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// igctl's verdicts, by chain name.
async fn verify_file(path: &Path) -> (Option<i32>, HashMap<String, Value>) {
    let path = path.display().to_string();
    let out = igctl(&["audit", "verify-file", path.as_str()]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let verdicts = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            (v["tenant"].as_str().unwrap().to_owned(), v)
        })
        .collect();
    assert!(stderr.is_empty(), "{stderr}");
    (out.status.code(), verdicts)
}

/// acme: four events with reasons `why 0`…`why 3`; globex: three, in between.
fn events() -> Vec<AuditEvent> {
    let mut events = Vec::new();
    for i in 0..4 {
        let mut e = event(
            &format!("2026-05-12T10:00:0{i}Z"),
            "acme",
            "agent-a",
            "read_invoice",
            "allow",
        );
        e.reason = format!("why {i}");
        events.push(e);
        if i < 3 {
            events.push(event(
                &format!("2026-05-12T10:00:0{i}.5Z"),
                "globex",
                "agent-b",
                "send_email",
                "block",
            ));
        }
    }
    events
}

pub async fn export_verifies_offline_like_the_endpoint(backend: Backend) {
    let gw = TestGateway::start(backend, &ADMIN_ENV).await;
    gw.seed(events()).await;
    let export = gw
        .admin(
            "GET",
            "/v1/admin/audit/export?format=json",
            Some("super"),
            None,
        )
        .await;
    assert_eq!(export.status, 200, "{}", export.text);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.ndjson");
    std::fs::write(&file, &export.text).unwrap();

    let (code, offline) = verify_file(&file).await;
    assert_eq!(code, Some(0));
    for tenant in ["acme", "globex"] {
        let online = gw
            .admin(
                "GET",
                &format!("/v1/admin/audit/verify?tenant={tenant}"),
                Some("super"),
                None,
            )
            .await
            .json();
        let mine = &offline[tenant];
        for key in ["ok", "verified", "skipped", "head_id"] {
            assert_eq!(mine[key], online[key], "{tenant} {key}: {mine} vs {online}");
        }
    }
    assert_eq!(offline["acme"]["verified"], 4);
    assert_eq!(offline["globex"]["verified"], 3);

    let tampered = export
        .text
        .replacen("\"reason\":\"why 1\"", "\"reason\":\"why not\"", 1);
    assert_ne!(tampered, export.text);
    std::fs::write(&file, tampered).unwrap();
    let (code, offline) = verify_file(&file).await;
    assert_eq!(code, Some(1));
    let acme = &offline["acme"];
    assert_eq!(acme["ok"], false);
    assert_eq!(acme["broken_at"]["id"], 2);
    assert_eq!(
        acme["broken_at"]["reason"],
        "hash mismatch (row body tampered)"
    );
    assert_eq!(offline["globex"]["ok"], true);
}

async fn revoke(url: &str, token: &str) -> Output {
    igctl(&[
        "revoke",
        "--gateway",
        url,
        "--admin-token",
        token,
        "--jti",
        "x",
        "--reason",
        "leaked",
    ])
    .await
}

pub async fn igctl_revoke_calls_the_admin_api(backend: Backend) {
    let gw = TestGateway::start(backend, &ADMIN_ENV).await;
    let out = revoke(&gw.url, "super").await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"jti\":\"x\",\"ok\":true}\n"
    );
    let listed = gw
        .admin("GET", "/v1/admin/revocations", Some("super"), None)
        .await
        .json();
    let jtis: Vec<&str> = listed["revocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["jti"].as_str().unwrap())
        .collect();
    assert_eq!(jtis, ["x"]);
    assert_eq!(listed["revocations"][0]["reason"], "leaked");

    let listing = format!("{}/", gw.url);
    let via_igctl = igctl(&[
        "revocations",
        "--gateway",
        listing.as_str(),
        "--admin-token",
        "super",
        "--limit",
        "5",
    ])
    .await;
    assert!(via_igctl.status.success());
    let page: Value = serde_json::from_slice(&via_igctl.stdout).unwrap();
    assert_eq!(
        (
            page["limit"].as_u64(),
            page["revocations"][0]["jti"].as_str()
        ),
        (Some(5), Some("x"))
    );

    let denied = revoke(&gw.url, "wrong").await;
    assert_eq!(denied.status.code(), Some(1));
    assert!(denied.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&denied.stderr),
        "error: gateway returned HTTP 401: {\"error\":\"invalid or missing admin token\"}\n"
    );
}

pub async fn igctl_agents_lists_what_the_gateway_observed(backend: Backend) {
    let gw = TestGateway::start(backend, &ADMIN_ENV).await;
    gw.seed(vec![
        event(
            "2026-05-12T10:00:00Z",
            "acme",
            "billing-bot",
            "refund",
            "allow",
        ),
        event("2026-05-12T12:00:00Z", "acme", "late-bot", "t", "allow"),
        event("2026-05-12T10:00:00Z", "globex", "other-bot", "t", "allow"),
    ])
    .await;
    let out = igctl(&[
        "agents",
        "--gateway",
        gw.url.as_str(),
        "--admin-token",
        "super",
        "--tenant",
        "acme",
        "--to",
        "2026-05-12T11:00:00Z",
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(page["events_scanned"], 1, "{page}");
    assert_eq!(page["agents"][0]["agent_id"], "billing-bot");
    assert_eq!(page["agents"][0]["risk_signals"][0], "payment");
}

//! What an auditor does with checkpoints: the verify endpoint names the checkpoint it
//! checked the chain against; an export with proofs verifies offline with the log's
//! verifier key only (`igctl audit verify-file --key`, and Go's `sumdb` on the bundle);
//! `igctl audit verify-consistency` tells an extended log from a rewritten one.

use std::path::Path;

use intentgate::domain::audit::BreakReason;
use intentgate::domain::audit::checkpoint::LogSigner;
use serde_json::{Value, json};

use crate::admin_checkpoints::{LOG_KEY, admin, go_verify, issue, seed, start};
use crate::igctl_verify::igctl_with;
use crate::support::{Backend, TestGateway};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub async fn verify_names_the_checkpoint_and_catches_rows_rewritten_under_it(backend: Backend) {
    let honest = start(backend).await;
    seed(&honest, "acme", 6, "allow").await;
    let (_, before) = admin(&honest, "GET", "/v1/admin/audit/verify?tenant=acme").await;
    assert_eq!(before["ok"], true);
    assert!(
        before.get("checkpoint").is_none(),
        "none issued yet: {before}"
    );
    let kept = issue(&honest, "acme").await;
    seed(&honest, "acme", 2, "allow").await;
    let (_, v) = admin(&honest, "GET", "/v1/admin/audit/verify?tenant=acme").await;
    assert_eq!(
        (v["ok"].as_bool(), v["verified"].as_u64()),
        (Some(true), Some(8))
    );
    let checked = &v["checkpoint"];
    assert_eq!(checked["tree_size"], 6);
    assert_eq!(checked["matched"], true);
    assert_eq!(checked["root_hash"], kept["root_hash"]);
    assert_eq!(checked["checkpoint"], kept["checkpoint"]);

    // The rows are rewritten and every hash recomputed (a second store written from
    // scratch), but the checkpoint history still holds the honest checkpoint.
    let rewritten = start(backend).await;
    seed(&rewritten, "acme", 6, "block").await;
    let signed = honest
        .gateway
        .transparency
        .latest("acme")
        .await
        .unwrap()
        .unwrap();
    let kept_there = rewritten
        .gateway
        .stores
        .transparency
        .record_checkpoint(&signed);
    assert!(kept_there.await.unwrap());
    let (_, v) = admin(&rewritten, "GET", "/v1/admin/audit/verify?tenant=acme").await;
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["broken_at"]["id"], 6);
    assert_eq!(
        v["broken_at"]["reason"],
        BreakReason::CheckpointMismatch.as_str()
    );
    assert_eq!(
        v["broken_at"]["expected_hash"].as_str().map(str::len),
        Some(64)
    );
    assert_eq!(v["checkpoint"]["matched"], false);
}

/// Exports acme (5) and globex (3) with proofs; returns the file and the key.
async fn export_with_proofs(gw: &TestGateway, dir: &Path) -> (std::path::PathBuf, String) {
    seed(gw, "acme", 5, "allow").await;
    seed(gw, "globex", 3, "block").await;
    let export = gw
        .admin(
            "GET",
            "/v1/admin/audit/export?format=json&proofs=true",
            Some("super"),
            None,
        )
        .await;
    assert_eq!(export.status, 200, "{}", export.text);
    let bundles: Vec<&str> = export
        .text
        .lines()
        .filter(|l| l.starts_with("{\"bundle\""))
        .collect();
    assert_eq!(export.text.lines().count(), 10, "8 records and 2 bundles");
    assert_eq!(bundles.len(), 2);
    let file = dir.join("export.ndjson");
    std::fs::write(&file, &export.text).unwrap();
    let (_, latest) = admin(gw, "GET", "/v1/admin/audit/checkpoint?tenant=acme").await;
    (file, latest["verifier_key"].as_str().unwrap().to_owned())
}

pub async fn an_export_with_proofs_verifies_offline_with_the_key(backend: Backend) {
    let gw = start(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let (file, key) = export_with_proofs(&gw, dir.path()).await;
    let path = file.display().to_string();

    let out = igctl_with(&["audit", "verify-file", &path, "--key", &key], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let verdicts: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sizes: Vec<(Value, Value, Value)> = verdicts
        .iter()
        .map(|v| {
            (
                v["tenant"].clone(),
                v["checkpoint"]["tree_size"].clone(),
                v["checkpoint"]["matched"].clone(),
            )
        })
        .collect();
    assert_eq!(
        sizes,
        [
            (json!("acme"), json!(5), json!(true)),
            (json!("globex"), json!(3), json!(true))
        ]
    );

    // Go's sumdb checks the same bundle line: our verifier is not the only judge.
    let contents = std::fs::read_to_string(&file).unwrap();
    let acme_line = contents
        .lines()
        .find(|l| l.contains("\"chain\":\"acme\",\"tree_size\""))
        .unwrap();
    let mut bundle: Value = serde_json::from_str(acme_line).unwrap();
    bundle["verifier_key"] = json!(key);
    if let Some((ok, said)) = go_verify(&bundle) {
        assert!(ok && said.contains("ok inclusion leaf 4"), "{said}");
    }

    // Without the key the chains are still walked, and the bundles are said unchecked.
    let out = igctl_with(&["audit", "verify-file", &path], &[]).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("not checked"),
        "{}",
        text(&out.stderr)
    );

    // Another key, a changed proof, or a file without bundles: the chain fails.
    let other = LogSigner::new("gateway.test", &[9u8; 32]).unwrap();
    let out = igctl_with(
        &["audit", "verify-file", &path, "--key", other.verifier_key()],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("does not verify"),
        "{}",
        text(&out.stderr)
    );
    let changed_proof = corrupt_first_proof(&contents);
    assert_ne!(changed_proof, contents);
    std::fs::write(&file, &changed_proof).unwrap();
    let out = igctl_with(&["audit", "verify-file", &path, "--key", &key], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("does not check"),
        "{}",
        text(&out.stderr)
    );
    let records_only: String = contents
        .lines()
        .filter(|l| !l.starts_with("{\"bundle\""))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&file, records_only).unwrap();
    let out = igctl_with(&["audit", "verify-file", &path, "--key", &key], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no proof bundle"),
        "{}",
        text(&out.stderr)
    );

    let csv = gw
        .admin(
            "GET",
            "/v1/admin/audit/export?proofs=true",
            Some("super"),
            None,
        )
        .await;
    assert_eq!(csv.status, 400, "{}", csv.text);
}

/// Replaces the first proof hash of the first bundle with another valid hash.
fn corrupt_first_proof(contents: &str) -> String {
    let mut lines: Vec<String> = contents.lines().map(str::to_owned).collect();
    for line in &mut lines {
        if line.starts_with("{\"bundle\"") {
            let mut bundle: Value = serde_json::from_str(line).unwrap();
            bundle["inclusions"][0]["proof"][0] =
                json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
            *line = bundle.to_string();
            break;
        }
    }
    lines.iter().map(|l| format!("{l}\n")).collect()
}

pub async fn igctl_prints_the_log_key_and_checks_consistency(backend: Backend) {
    let honest = start(backend).await;
    seed(&honest, "acme", 4, "allow").await;
    let old = issue(&honest, "acme").await;
    seed(&honest, "acme", 3, "allow").await;
    let new = issue(&honest, "acme").await;

    let env = [
        ("INTENTGATE_LOG_KEY", LOG_KEY),
        ("INTENTGATE_LOG_NAME", "gateway.test"),
    ];
    let out = igctl_with(&["audit", "log-key"], &env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim(),
        new["verifier_key"].as_str().unwrap()
    );
    let key = text(&out.stdout).trim().to_owned();

    let dir = tempfile::tempdir().unwrap();
    let (old_file, new_file) = (dir.path().join("old.json"), dir.path().join("new.note"));
    std::fs::write(&old_file, old.to_string()).unwrap();
    std::fs::write(&new_file, new["checkpoint"].as_str().unwrap()).unwrap();
    let files = [
        old_file.display().to_string(),
        new_file.display().to_string(),
    ];
    let check = |gw: &TestGateway| {
        let (url, files, key) = (gw.url.clone(), files.clone(), key.clone());
        async move {
            let args = [
                "audit",
                "verify-consistency",
                &files[0],
                &files[1],
                "--key",
                &key,
                "--gateway",
                &url,
                "--admin-token",
                "super",
            ];
            igctl_with(&args, &[]).await
        }
    };
    let out = check(&honest).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let verdict: Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(
        verdict,
        json!({"ok": true, "origin": "gateway.test/acme", "from_size": 4, "to_size": 7})
    );

    // A rewritten log signs a fine checkpoint of 7, but cannot prove it extends the old.
    let rewritten = start(backend).await;
    seed(&rewritten, "acme", 7, "block").await;
    let forged = issue(&rewritten, "acme").await;
    std::fs::write(&new_file, forged["checkpoint"].as_str().unwrap()).unwrap();
    let out = check(&rewritten).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let verdict: Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(verdict["ok"], false);
    assert!(
        verdict["reason"]
            .as_str()
            .unwrap()
            .contains("does not extend"),
        "{verdict}"
    );

    // The same size with another root is a fork, caught without asking anyone.
    std::fs::write(&old_file, new["checkpoint"].as_str().unwrap()).unwrap();
    let out = check(&rewritten).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("rewritten"),
        "{}",
        text(&out.stdout)
    );
}

/// The memory store keeps only the newest records: once a chain's oldest are gone the
/// checkpoint cannot be rebuilt and is left unchecked, never reported as a mismatch.
/// The durable stores keep everything and still check it.
pub async fn a_chain_whose_oldest_records_are_gone_is_not_called_rewritten(backend: Backend) {
    let mut env = crate::support::ADMIN_ENV.to_vec();
    env.extend([
        ("INTENTGATE_CHECKPOINT_ENTRIES", "0"),
        ("INTENTGATE_MEMORY_AUDIT_RETAIN", "5"),
    ]);
    let gw = TestGateway::start(backend, &env).await;
    seed(&gw, "acme", 3, "allow").await;
    issue(&gw, "acme").await;
    seed(&gw, "acme", 4, "allow").await;
    let (_, v) = admin(&gw, "GET", "/v1/admin/audit/verify?tenant=acme").await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["checkpoint"]["tree_size"], 3);
    let matched = v["checkpoint"].get("matched").cloned();
    match backend {
        Backend::Memory => assert_eq!(matched, None, "{v}"),
        _ => assert_eq!(matched, Some(json!(true)), "{v}"),
    }
}

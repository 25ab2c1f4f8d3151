//! `igctl audit verify-file` re-verifies an NDJSON export offline and reports each
//! chain as `GET /v1/admin/audit/verify` would (`reference-admin-audit.md` §2.7, §4.6).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use intentgate::domain::audit::export::ndjson_line;
use intentgate::domain::audit::{AuditEvent, BreakReason, ChainedEvent, chain_key, seal};
use intentgate::domain::time::Timestamp;
use serde_json::Value;

/// `n` sealed events of `tenant`, two seconds apart from `10:00:<start>`, with
/// reasons `r0`, `r1`, ….
fn chain(tenant: &str, n: usize, start: usize) -> Vec<ChainedEvent> {
    let events = (0..n)
        .map(|i| {
            let ts = format!("2026-05-12T10:00:{:02}Z", start + 2 * i);
            let mut e = AuditEvent::new(Timestamp::parse_rfc3339(&ts).unwrap(), "allow", "read");
            e.tenant = tenant.into();
            e.agent_id = "agent-a".into();
            e.reason = format!("r{i}");
            e
        })
        .collect();
    seal(chain_key(tenant), None, events)
}

/// The export of acme (5 events) and globex (3), interleaved newest first.
fn export_lines() -> Vec<String> {
    let mut all: Vec<ChainedEvent> = chain("acme", 5, 0);
    all.extend(chain("globex", 3, 1));
    all.sort_by_key(|r| std::cmp::Reverse(r.event.ts));
    all.iter()
        .map(|rec| {
            let mut line = String::new();
            ndjson_line(&mut line, rec);
            line
        })
        .collect()
}

fn is_acme(line: &str, seq: u64) -> bool {
    line.contains(&format!("\"chain\":\"acme\",\"seq\":{seq},"))
}

fn write(dir: &Path, lines: &[String]) -> PathBuf {
    let path = dir.join("export.ndjson");
    std::fs::write(&path, lines.concat()).unwrap();
    path
}

fn verify_file(path: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_igctl"))
        .args(["audit", "verify-file"])
        .arg(path)
        .output()
        .unwrap()
}

fn verdicts(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn an_untouched_export_verifies_chain_by_chain() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = export_lines();
    lines.insert(3, "\n".into());
    lines.push("  \n".into());
    let out = verify_file(&write(dir.path(), &lines));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "{\"ok\":true,\"tenant\":\"acme\",\"verified\":5,\"skipped\":0,\
         \"head_at\":\"2026-05-12T10:00:08Z\",\"head_id\":5}\n\
         {\"ok\":true,\"tenant\":\"globex\",\"verified\":3,\"skipped\":0,\
         \"head_at\":\"2026-05-12T10:00:05Z\",\"head_id\":3}\n"
    );
}

#[test]
fn a_tampered_body_is_reported_with_its_seq() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = export_lines();
    let line = lines.iter_mut().find(|l| is_acme(l, 3)).unwrap();
    let stored: Value = serde_json::from_str(line).unwrap();
    *line = line.replace("\"reason\":\"r2\"", "\"reason\":\"rewritten\"");
    let out = verify_file(&write(dir.path(), &lines));
    assert_eq!(out.status.code(), Some(1));
    let v = verdicts(&out);
    assert_eq!(v.len(), 2);
    let (acme, globex) = (&v[0], &v[1]);
    assert_eq!(
        (
            acme["tenant"].as_str(),
            acme["ok"].as_bool(),
            acme["verified"].as_u64()
        ),
        (Some("acme"), Some(false), Some(2))
    );
    assert!(acme.get("head_at").is_none() && acme.get("head_id").is_none());
    let broken = &acme["broken_at"];
    assert_eq!(broken["id"], 3);
    assert_eq!(broken["reason"], "hash mismatch (row body tampered)");
    assert_eq!(broken["reason"], BreakReason::HashMismatch.as_str());
    assert_eq!(broken["ts"], "2026-05-12T10:00:04Z");
    assert_eq!(broken["stored_hash"], stored["hash"]);
    assert_ne!(broken["expected_hash"], broken["stored_hash"]);
    assert_eq!(
        (globex["ok"].as_bool(), globex["verified"].as_u64()),
        (Some(true), Some(3))
    );
}

#[test]
fn a_deleted_row_breaks_the_next_link() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = export_lines();
    lines.retain(|l| !is_acme(l, 3));
    let out = verify_file(&write(dir.path(), &lines));
    assert_eq!(out.status.code(), Some(1));
    let acme = &verdicts(&out)[0];
    assert_eq!(
        (acme["ok"].as_bool(), acme["verified"].as_u64()),
        (Some(false), Some(2))
    );
    assert_eq!(acme["broken_at"]["id"], 4);
    assert_eq!(
        acme["broken_at"]["reason"],
        "prev_hash mismatch (chain link broken \u{2014} row inserted/deleted)"
    );
}

#[test]
fn a_window_of_an_export_trusts_its_first_link() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = export_lines();
    lines.retain(|l| !is_acme(l, 1) && !is_acme(l, 2));
    let out = verify_file(&write(dir.path(), &lines));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(verdicts(&out)[0]["verified"], 3);
}

#[test]
fn usage_and_unreadable_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = verify_file(&dir.path().join("nope.ndjson"));
    assert_eq!(missing.status.code(), Some(1));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(
        err.starts_with("error: ") && err.contains("nope.ndjson"),
        "{err}"
    );
    assert!(missing.stdout.is_empty());

    let no_arg = Command::new(env!("CARGO_BIN_EXE_igctl"))
        .args(["audit", "verify-file"])
        .output()
        .unwrap();
    assert_eq!(no_arg.status.code(), Some(2));
    assert!(!no_arg.stderr.is_empty());

    let mut lines = export_lines();
    lines.insert(1, "ts,event,schema_version\n".into());
    let garbage = verify_file(&write(dir.path(), &lines));
    assert_eq!(garbage.status.code(), Some(1));
    let err = String::from_utf8_lossy(&garbage.stderr);
    assert!(
        err.starts_with("error: ") && err.contains(": line 2: "),
        "{err}"
    );
}

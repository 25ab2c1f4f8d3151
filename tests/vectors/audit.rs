//! Audit canonical form and chain vectors: `reference-admin-audit.md` §4.8 and
//! `reference-data-plane.md` §10.6.

use intentgate::domain::audit::{
    AuditEvent, BreakReason, ChainVerifier, ChainedEvent, chain_hash, chain_key, seal,
};
use intentgate::domain::time::Timestamp;

fn ts(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

fn e1() -> AuditEvent {
    let mut e = AuditEvent::new(ts("2026-05-12T10:00:00Z"), "allow", "read_invoice");
    e.tenant = "acme".into();
    e.agent_id = "agent-a".into();
    e
}

fn e2() -> AuditEvent {
    let mut e = AuditEvent::new(ts("2026-05-12T10:00:01.5Z"), "block", "transfer_funds");
    e.check = "policy".into();
    e.reason = "amount <5000 & >0".into();
    e.tenant = "acme".into();
    e.agent_id = "agent-a".into();
    e.arg_keys = vec!["amount_eur".into(), "recipient".into()];
    e.arg_values = Some(serde_json::json!({"amount_eur": 1500}));
    e.capability_token_id = "cap-1".into();
    e.root_capability_token_id = "cap-1".into();
    e.caveat_count = 2;
    e.latency_ms = 3;
    e
}

fn e3() -> AuditEvent {
    let mut e = AuditEvent::new(
        ts("2026-05-12T10:00:02.123456Z"),
        "escalate",
        "transfer_funds",
    );
    e.check = "policy".into();
    e.reason = "escalate: high value".into();
    e.tenant = "acme".into();
    e.agent_id = "agent-a".into();
    e.pending_id = "pend-1".into();
    e.latency_ms = 7;
    e.remote_ip = "10.0.0.1:5555".into();
    e.requires_step_up = true;
    e.elevation_id = "elev-9".into();
    e
}

const E1: &str = r#"{"ts":"2026-05-12T10:00:00Z","event":"intentgate.tool_call","schema_version":"6","decision":"allow","tenant":"acme","agent_id":"agent-a","tool":"read_invoice","latency_ms":0}"#;
const E2: &str = r#"{"ts":"2026-05-12T10:00:01.5Z","event":"intentgate.tool_call","schema_version":"6","decision":"block","check":"policy","reason":"amount \u003c5000 \u0026 \u003e0","tenant":"acme","agent_id":"agent-a","tool":"transfer_funds","arg_keys":["amount_eur","recipient"],"capability_token_id":"cap-1","root_capability_token_id":"cap-1","caveat_count":2,"latency_ms":3}"#;
const E3: &str = r#"{"ts":"2026-05-12T10:00:02.123456Z","event":"intentgate.tool_call","schema_version":"6","decision":"escalate","check":"policy","reason":"escalate: high value","tenant":"acme","agent_id":"agent-a","tool":"transfer_funds","pending_id":"pend-1","latency_ms":7,"remote_ip":"10.0.0.1:5555","requires_step_up":true,"elevation_id":"elev-9"}"#;
const H1: &str = "0d7b363df18da7ebc2573bb8994c84cfd646bb88ea6bcee0ad17f548a28861b0";
const H2: &str = "6236b6191603ab7517bb341c725d7a9b48447734e8d8dbfdf44758f1d82527f5";
const H3: &str = "ef5b6a35db8fc89daa99e718c6b1e2e3fbfa2443a83b80d687276f37c853fb0b";

#[test]
fn admin_audit_canonical_vectors() {
    assert_eq!(e1().canonical_json(), E1);
    assert_eq!(e2().canonical_json(), E2);
    assert_eq!(e3().canonical_json(), E3);
}

#[test]
fn admin_audit_chain_vectors() {
    assert_eq!(chain_hash("", E1), H1);
    assert_eq!(chain_hash(H1, E2), H2);
    assert_eq!(chain_hash(H2, E3), H3);
}

#[test]
fn sealing_reproduces_the_vector_chain() {
    let sealed = seal("acme", None, vec![e1(), e2(), e3()]);
    let hashes: Vec<&str> = sealed.iter().map(|r| r.hash.as_str()).collect();
    assert_eq!(hashes, [H1, H2, H3]);
    assert_eq!(sealed[0].prev_hash, "");
    assert_eq!(sealed[2].prev_hash, H2);
    assert_eq!(sealed.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);
    // arg_values is on the wire form but not in the hash.
    assert!(
        sealed[1]
            .event
            .to_json()
            .contains(r#""arg_values":{"amount_eur":1500}"#)
    );
}

#[test]
fn data_plane_vector_truncates_and_chains() {
    let mut e = AuditEvent::new(
        ts("2026-05-11T22:30:00.123456789Z"),
        "block",
        "transfer_funds",
    );
    e.check = "policy".into();
    e.reason = "transfer above 10000 EUR threshold".into();
    e.tenant = "acme".into();
    e.agent_id = "fin-bot".into();
    e.arg_keys = vec!["amount_eur".into()];
    e.arg_values = Some(serde_json::json!({"amount_eur": 50000}));
    e.capability_token_id = "aCEawAECAwQFBgcICQoLDA".into();
    e.root_capability_token_id = "aCEawAECAwQFBgcICQoLDA".into();
    e.caveat_count = 4;
    e.latency_ms = 3;
    e.remote_ip = "10.0.0.7:5555".into();
    let sealed = seal("acme", None, vec![e.clone(), e]);
    assert_eq!(
        sealed[0].event.canonical_json(),
        r#"{"ts":"2026-05-11T22:30:00.123456Z","event":"intentgate.tool_call","schema_version":"6","decision":"block","check":"policy","reason":"transfer above 10000 EUR threshold","tenant":"acme","agent_id":"fin-bot","tool":"transfer_funds","arg_keys":["amount_eur"],"capability_token_id":"aCEawAECAwQFBgcICQoLDA","root_capability_token_id":"aCEawAECAwQFBgcICQoLDA","caveat_count":4,"latency_ms":3,"remote_ip":"10.0.0.7:5555"}"#
    );
    assert_eq!(
        sealed[0].hash,
        "4a907fc073634d395b3c615db2caaf30d08f498a22adfb6fb352fb9e65ea380b"
    );
    assert_eq!(
        sealed[1].hash,
        "af095a948a46de9d25d8bfef64f34825e6d4d4bd237aad1c5f2e067f81e6679d"
    );
}

#[test]
fn empty_tenant_chains_under_default() {
    assert_eq!(chain_key(""), "default");
    assert_eq!(chain_key("acme"), "acme");
}

fn verify(records: &[ChainedEvent]) -> intentgate::domain::audit::VerifyReport {
    let mut v = ChainVerifier::new(None, None);
    for r in records {
        if !v.feed(r) {
            break;
        }
    }
    v.finish(records.last().map(ChainedEvent::head))
}

#[test]
fn intact_chain_verifies_with_head() {
    let sealed = seal("acme", None, vec![e1(), e2(), e3()]);
    let report = verify(&sealed);
    assert!(report.ok);
    assert_eq!((report.verified, report.skipped), (3, 0));
    assert_eq!(report.head.map(|h| h.seq), Some(3));
    assert_eq!(verify(&[]).verified, 0);
    assert!(verify(&[]).ok);
}

#[test]
fn tampered_body_is_a_hash_mismatch() {
    let mut sealed = seal("acme", None, vec![e1(), e2(), e3()]);
    sealed[1].event.reason = "edited".into();
    let report = verify(&sealed);
    assert!(!report.ok);
    assert_eq!(report.verified, 1);
    assert_eq!(report.head, None);
    let broken = report.broken_at.unwrap();
    assert_eq!((broken.seq, broken.reason), (2, BreakReason::HashMismatch));
    assert_eq!(broken.stored_hash, H2);
    assert_eq!(broken.reason.as_str(), "hash mismatch (row body tampered)");
}

#[test]
fn deleted_row_is_a_broken_link() {
    let mut sealed = seal("acme", None, vec![e1(), e2(), e3()]);
    sealed.remove(1);
    let report = verify(&sealed);
    let broken = report.broken_at.unwrap();
    assert_eq!(
        (broken.seq, broken.reason),
        (3, BreakReason::PrevHashMismatch)
    );
    assert_eq!(broken.expected_hash, H1);
    assert_eq!(
        broken.reason.as_str(),
        "prev_hash mismatch (chain link broken \u{2014} row inserted/deleted)"
    );
}

#[test]
fn window_trusts_its_first_row_and_skips_prechain_rows() {
    let mut sealed = seal("acme", None, vec![e1(), e2(), e3()]);
    let mut v = ChainVerifier::new(Some(ts("2026-05-12T10:00:01Z")), None);
    sealed[0].hash.clear(); // outside the window anyway
    assert!(sealed.iter().all(|r| v.feed(r)));
    let report = v.finish(None);
    assert_eq!((report.ok, report.verified, report.skipped), (true, 2, 0));
    let mut v = ChainVerifier::new(None, None);
    assert!(sealed.iter().all(|r| v.feed(r)));
    assert_eq!(v.finish(None).skipped, 1);
}

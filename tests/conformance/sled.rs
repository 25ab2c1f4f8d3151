//! The sled backend under the conformance suite: a fresh database directory per test.

use intentgate::domain::audit::{AuditEvent, AuditQuery, ChainedEvent, seal};
use intentgate::ports::AppendOutcome;

use crate::suite::Fixture;

async fn fixture() -> Option<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let stores = intentgate::adapters::sled::open(dir.path()).unwrap();
    Some(Fixture::new(stores, dir))
}

conformance_tests!(fixture);

/// A directory written by a layout this build does not know (here a future one) is
/// refused, naming both versions, and left as it was rather than read as if it matched.
#[tokio::test]
async fn a_database_of_another_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path()).unwrap();
        db.insert("schema_version", "4").unwrap();
        db.flush().unwrap();
    }
    // Retried while the lock is still held: the refusal is what is under test.
    let refused = reopen(|| match intentgate::adapters::sled::open(dir.path()) {
        Err(e) if e.to_string().contains("could not acquire lock") => Err(e),
        other => Ok(other),
    })
    .await;
    let message = refused
        .err()
        .expect("an old layout must not open")
        .to_string();
    assert!(message.contains(r#"schema version "4""#), "{message}");
    assert!(message.contains("reads version 3"), "{message}");
    let db = reopen(|| sled::open(dir.path())).await;
    assert_eq!(db.get("schema_version").unwrap().unwrap().as_ref(), b"4");
}

/// A version 2 directory (records without the OAuth tail) is read as it is and marked
/// version 3; an OAuth caller's record then keeps its issuer and client through a
/// reopen, and the chain verifies across both kinds.
#[tokio::test]
async fn a_version_2_database_is_remarked_and_keeps_oauth_fields_after() {
    let dir = tempfile::tempdir().unwrap();
    let plain = seal(
        "acme",
        None,
        vec![AuditEvent::new(crate::suite::at(1), "allow", "read")],
    );
    {
        let stores = reopen(|| intentgate::adapters::sled::open(dir.path())).await;
        stores.audit.append(&plain).await.unwrap();
    }
    {
        let db = reopen(|| sled::open(dir.path())).await;
        db.insert("schema_version", "2").unwrap();
        db.flush().unwrap();
    }
    let stores = reopen(|| intentgate::adapters::sled::open(dir.path())).await;
    assert_eq!(stores.audit.range("acme", 1, 10).await.unwrap(), plain);
    let mut oauth = AuditEvent::new(crate::suite::at(2), "allow", "read");
    oauth.token_issuer = "https://login.example".into();
    oauth.client_id = "cli-1".into();
    let head = stores.audit.head("acme").await.unwrap();
    let second = seal("acme", head.as_ref(), vec![oauth]);
    stores.audit.append(&second).await.unwrap();
    drop(stores);
    let db = reopen(|| sled::open(dir.path())).await;
    assert_eq!(db.get("schema_version").unwrap().unwrap().as_ref(), b"3");
    drop(db);
    let reopened = reopen(|| intentgate::adapters::sled::open(dir.path())).await;
    let stored = reopened.audit.range("acme", 1, 10).await.unwrap();
    assert_eq!(stored[1], second[0]);
    assert_eq!(stored[1].event.client_id, "cli-1");
    let report = intentgate::app::admin::verify_chain(reopened.audit.as_ref(), "acme", None, None)
        .await
        .unwrap();
    assert!(report.ok && report.verified == 2, "{report:?}");
}

/// A record as schema version 1 stored it: JSON, every field by name, timestamps in Unix
/// nanoseconds, `arg_values` as a JSON value. Written out by hand so the test does not
/// depend on the code it checks.
fn v1_record(r: &ChainedEvent) -> Vec<u8> {
    let e = &r.event;
    serde_json::to_vec(&serde_json::json!({
        "chain": r.chain, "seq": r.seq, "prev_hash": r.prev_hash, "hash": r.hash,
        "ts": e.ts.unix_nanos(), "event": e.event, "schema_version": e.schema_version,
        "decision": e.decision, "check": e.check, "reason": e.reason, "tenant": e.tenant,
        "agent_id": e.agent_id, "session_id": e.session_id, "tool": e.tool,
        "arg_keys": e.arg_keys, "arg_values": e.arg_values,
        "capability_token_id": e.capability_token_id,
        "root_capability_token_id": e.root_capability_token_id,
        "caveat_count": e.caveat_count, "pending_id": e.pending_id,
        "decided_by": e.decided_by, "intent_summary": e.intent_summary,
        "latency_ms": e.latency_ms, "remote_ip": e.remote_ip,
        "upstream_status": e.upstream_status, "requires_step_up": e.requires_step_up,
        "elevation_id": e.elevation_id,
    }))
    .unwrap()
}

fn seq_key(chain: &str, seq: u64) -> Vec<u8> {
    [chain.as_bytes(), &[0], &seq.to_be_bytes()].concat()
}

/// Version 1 kept the time index in time order: `ts chain 0 seq -> record key`.
fn v1_time_key(r: &ChainedEvent) -> Vec<u8> {
    let ts = (r.event.ts.unix_nanos() as u64) ^ (1 << 63);
    [&ts.to_be_bytes()[..], &seq_key(&r.chain, r.seq)].concat()
}

/// Writes `records` (one chain) the way version 1 did, marked `mark`, with the time
/// index or without it (as an interrupted upgrade leaves it).
fn write_v1(dir: &std::path::Path, records: &[ChainedEvent], mark: &str, index: bool) {
    let db = sled::open(dir).unwrap();
    db.insert("schema_version", mark).unwrap();
    let (audit, by_time) = (
        db.open_tree("audit").unwrap(),
        db.open_tree("audit_by_time").unwrap(),
    );
    for r in records {
        audit
            .insert(seq_key(&r.chain, r.seq), v1_record(r))
            .unwrap();
        if index {
            by_time
                .insert(v1_time_key(r), seq_key(&r.chain, r.seq))
                .unwrap();
        }
    }
    let head = records.last().unwrap();
    let head_json =
        serde_json::json!({"seq": head.seq, "hash": head.hash, "ts": head.event.ts.unix_nanos()});
    db.open_tree("audit_heads")
        .unwrap()
        .insert(
            head.chain.as_bytes(),
            serde_json::to_vec(&head_json).unwrap(),
        )
        .unwrap();
    db.flush().unwrap();
}

/// A version 1 directory is upgraded in place at open: every record reads back with
/// every field, the chain still verifies, queries are newest first, appends continue
/// the chain, and the directory is marked with the current version.
#[tokio::test]
async fn a_version_1_database_is_upgraded_in_place_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = AuditEvent::new(crate::suite::at(1), "allow", "read");
    first.tenant = "acme".into();
    first.arg_keys = vec!["amount".into()];
    first.arg_values = Some(serde_json::json!({"amount": 50000, "nested": [1.5, null]}));
    let mut second = AuditEvent::new(crate::suite::at(2), "block", "pay");
    second.tenant = "acme".into();
    second.reason = "over <limit> & \"quoted\"".into();
    let sealed = seal("acme", None, vec![first, second]);
    write_v1(dir.path(), &sealed, "1", true);

    let stores = reopen(|| intentgate::adapters::sled::open(dir.path())).await;
    assert_eq!(stores.audit.range("acme", 1, 10).await.unwrap(), sealed);
    let newest_first = stores.audit.query(&AuditQuery::default()).await.unwrap();
    assert_eq!(newest_first, [sealed[1].clone(), sealed[0].clone()]);
    let report = intentgate::app::admin::verify_chain(stores.audit.as_ref(), "acme", None, None)
        .await
        .unwrap();
    assert!(report.ok && report.verified == 2, "{report:?}");
    let head = stores.audit.head("acme").await.unwrap();
    let third = seal(
        "acme",
        head.as_ref(),
        vec![AuditEvent::new(crate::suite::at(3), "allow", "read")],
    );
    assert!(matches!(
        stores.audit.append(&third).await.unwrap(),
        AppendOutcome::Appended(_)
    ));
    drop(stores);

    let db = reopen(|| sled::open(dir.path())).await;
    assert_eq!(db.get("schema_version").unwrap().unwrap().as_ref(), b"3");
    drop(db);
    let reopened = reopen(|| intentgate::adapters::sled::open(dir.path())).await;
    assert_eq!(reopened.audit.range("acme", 1, 10).await.unwrap().len(), 3);
}

/// Opens a directory that a database dropped just before may still hold for a moment:
/// sled lets go of its lock when its background flusher next runs, which on a loaded
/// machine is not at once (CI saw "could not acquire lock" here).
async fn reopen<T, E: std::fmt::Debug>(open: impl Fn() -> Result<T, E>) -> T {
    for _ in 0..100 {
        if let Ok(opened) = open() {
            return opened;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    open().unwrap()
}

/// An upgrade cut short (marked as under way, index cleared) runs again at the next
/// open and rebuilds the index.
#[tokio::test]
async fn an_interrupted_upgrade_runs_again() {
    let dir = tempfile::tempdir().unwrap();
    let events = (1..=3)
        .map(|i| {
            let mut e = AuditEvent::new(crate::suite::at(i), "allow", "read");
            e.tenant = "acme".into();
            e
        })
        .collect();
    let sealed = seal("acme", None, events);
    write_v1(dir.path(), &sealed, "1-upgrading-to-2", false);
    let stores = reopen(|| intentgate::adapters::sled::open(dir.path())).await;
    let newest_first = stores.audit.query(&AuditQuery::default()).await.unwrap();
    let seqs: Vec<u64> = newest_first.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [3, 2, 1]);
}

/// The head is written after its run's records, so a crash in between leaves records
/// past the head (and the chain's pending mark). They are rolled back when the database
/// opens, time-index entries included: the chain reads, counts and verifies as it was
/// before the run, and the next append continues it from the head. A chain whose name
/// extends this one's with a 0 byte (its keys sort among this chain's) is untouched.
#[tokio::test]
async fn records_a_crash_left_past_the_head_are_rolled_back_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let open = || intentgate::adapters::sled::open(dir.path());
    let event = |n| AuditEvent::new(crate::suite::at(n), "allow", "read");
    let kept = seal("acme", None, vec![event(1), event(2)]);
    let neighbour = seal("acme\0x", None, vec![event(1), event(2), event(3)]);
    let head_before_run = {
        let stores = reopen(open).await;
        stores.audit.append(&kept).await.unwrap();
        stores.audit.append(&neighbour).await.unwrap();
        drop(stores);
        let db = reopen(|| sled::open(dir.path())).await;
        let head = db
            .open_tree("audit_heads")
            .unwrap()
            .get("acme")
            .unwrap()
            .unwrap();
        drop(db);
        let stores = reopen(open).await;
        let unfinished = seal("acme", Some(&kept[1].head()), vec![event(3), event(4)]);
        stores.audit.append(&unfinished).await.unwrap();
        head
    };
    {
        // What the crash left: the run's records, its pending mark, the head before it.
        let db = reopen(|| sled::open(dir.path())).await;
        db.open_tree("audit_heads")
            .unwrap()
            .insert("acme", head_before_run)
            .unwrap();
        db.open_tree("audit_pending")
            .unwrap()
            .insert("acme", &[])
            .unwrap();
        db.flush().unwrap();
    }
    let stores = reopen(open).await;
    assert_eq!(stores.audit.range("acme", 1, 10).await.unwrap(), kept);
    assert_eq!(
        stores.audit.range("acme\0x", 1, 10).await.unwrap(),
        neighbour
    );
    assert_eq!(stores.audit.count(&AuditQuery::default()).await.unwrap(), 5);
    let head = stores.audit.head("acme").await.unwrap();
    let next = seal("acme", head.as_ref(), vec![event(5)]);
    let appended = stores.audit.append(&next).await.unwrap();
    assert_eq!(appended, AppendOutcome::Appended(next[0].head()));
    let newest_first = stores.audit.query(&AuditQuery::default()).await.unwrap();
    let acme: Vec<&ChainedEvent> = newest_first.iter().filter(|r| r.chain == "acme").collect();
    assert_eq!(acme.iter().map(|r| r.seq).collect::<Vec<_>>(), [3, 2, 1]);
    assert_eq!(*acme[0], next[0]);
    assert_eq!(newest_first.len(), 6);
    for (chain, records) in [("acme", 3), ("acme\0x", 3)] {
        let report = intentgate::app::admin::verify_chain(stores.audit.as_ref(), chain, None, None)
            .await
            .unwrap();
        assert!(
            report.ok && report.verified == records,
            "{chain:?}: {report:?}"
        );
    }
    drop(stores);
    let db = reopen(|| sled::open(dir.path())).await;
    assert!(
        db.open_tree("audit_pending").unwrap().is_empty(),
        "the mark is cleared"
    );
}

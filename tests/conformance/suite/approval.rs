//! `ApprovalStore` contracts.

use std::sync::Arc;

use intentgate::domain::approval::{Approval, ApprovalDecision, ApprovalStatus, ApprovalVerdict};
use intentgate::domain::tenant::TenantScope;
use intentgate::ports::{ApprovalFilter, CreateOutcome, DecideOutcome};

use super::{Fixture, at};

pub fn pending(id: &str, tenant: &str, secs: i64) -> Approval {
    Approval {
        pending_id: id.into(),
        tenant: tenant.into(),
        capability_token_id: "jti-1".into(),
        root_capability_token_id: "root-1".into(),
        agent_id: "agent-x".into(),
        tool: "transfer <funds>".into(),
        args: Some(serde_json::json!({"amount_eur": 50000, "memo": "caf\u{e9} & co", "n": null})),
        intent_summary: "pay".into(),
        reason: "needs human".into(),
        status: ApprovalStatus::Pending,
        created_at: at(secs).plus_nanos(123_456_000),
        decided_at: None,
        decided_by: String::new(),
        decide_note: String::new(),
        requires_step_up: true,
    }
}

fn decision(verdict: ApprovalVerdict, by: &str, secs: i64) -> ApprovalDecision {
    ApprovalDecision {
        verdict,
        decided_by: by.into(),
        note: format!("note by {by}"),
        at: at(secs),
    }
}

pub async fn created_rows_read_back_with_every_field(f: &Fixture) {
    let store = f.stores.approvals.as_ref();
    let row = pending("p1", "acme", 0);
    assert_eq!(store.create(&row).await.unwrap(), CreateOutcome::Created);
    assert_eq!(store.get("p1").await.unwrap(), Some(row.clone()));
    assert_eq!(
        store.create(&pending("p1", "globex", 5)).await.unwrap(),
        CreateOutcome::AlreadyExists
    );
    assert_eq!(store.get("p1").await.unwrap(), Some(row));
    assert_eq!(store.get("nope").await.unwrap(), None);
}

pub async fn decide_moves_a_pending_row_exactly_once(f: &Fixture) {
    let store = f.stores.approvals.as_ref();
    store.create(&pending("p1", "acme", 0)).await.unwrap();
    let DecideOutcome::Decided(approved) = store
        .decide("p1", &decision(ApprovalVerdict::Approve, "alice", 10))
        .await
        .unwrap()
    else {
        panic!("first decision must win");
    };
    assert_eq!(approved.status, ApprovalStatus::Approved);
    assert_eq!(
        (approved.decided_by.as_str(), approved.decide_note.as_str()),
        ("alice", "note by alice")
    );
    assert_eq!(approved.decided_at, Some(at(10)));
    let again = store
        .decide("p1", &decision(ApprovalVerdict::Reject, "bob", 20))
        .await
        .unwrap();
    assert_eq!(again, DecideOutcome::AlreadyDecided(approved.clone()));
    assert_eq!(store.get("p1").await.unwrap(), Some(approved));
    let unknown = store
        .decide("nope", &decision(ApprovalVerdict::Approve, "alice", 10))
        .await
        .unwrap();
    assert_eq!(unknown, DecideOutcome::NotFound);
}

pub async fn expiry_is_a_decision_too(f: &Fixture) {
    let store = f.stores.approvals.as_ref();
    store.create(&pending("p1", "acme", 0)).await.unwrap();
    let DecideOutcome::Decided(expired) = store
        .decide("p1", &decision(ApprovalVerdict::Expire, "", 300))
        .await
        .unwrap()
    else {
        panic!("expiry of a pending row must win");
    };
    assert_eq!(
        (expired.status, expired.decided_by.as_str()),
        (ApprovalStatus::Timeout, "")
    );
    let late = store
        .decide("p1", &decision(ApprovalVerdict::Approve, "alice", 301))
        .await
        .unwrap();
    assert!(
        matches!(late, DecideOutcome::AlreadyDecided(row) if row.status == ApprovalStatus::Timeout)
    );
}

pub async fn exactly_one_of_concurrent_decisions_wins(f: &Fixture) {
    f.stores
        .approvals
        .create(&pending("p1", "acme", 0))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let store = Arc::clone(&f.stores.approvals);
            let verdict = [
                ApprovalVerdict::Approve,
                ApprovalVerdict::Reject,
                ApprovalVerdict::Expire,
            ][i % 3];
            tokio::spawn(async move {
                store
                    .decide("p1", &decision(verdict, &format!("rev-{i}"), 10))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut losers = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            DecideOutcome::Decided(row) => winners.push(row),
            DecideOutcome::AlreadyDecided(row) => losers.push(row),
            DecideOutcome::NotFound => panic!("row vanished"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one decision wins");
    let winner = &winners[0];
    assert!(
        losers.iter().all(|row| row == winner),
        "losers see the winner's row"
    );
    assert_eq!(
        f.stores.approvals.get("p1").await.unwrap().as_ref(),
        Some(winner)
    );
}

pub async fn list_filters_by_tenant_and_status_newest_first(f: &Fixture) {
    let store = f.stores.approvals.as_ref();
    for (id, tenant, secs) in [
        ("a", "acme", 1),
        ("b", "globex", 2),
        ("c", "acme", 3),
        ("d", "", 4),
    ] {
        store.create(&pending(id, tenant, secs)).await.unwrap();
    }
    store
        .decide("c", &decision(ApprovalVerdict::Reject, "bob", 9))
        .await
        .unwrap();
    let ids = |rows: Vec<Approval>| rows.into_iter().map(|r| r.pending_id).collect::<Vec<_>>();
    let all = store.list(&ApprovalFilter::default(), 10, 0).await.unwrap();
    assert_eq!(ids(all), ["d", "c", "b", "a"]);
    let acme = ApprovalFilter {
        tenant: TenantScope::Only("acme".into()),
        status: None,
    };
    assert_eq!(ids(store.list(&acme, 10, 0).await.unwrap()), ["c", "a"]);
    let acme_pending = ApprovalFilter {
        status: Some(ApprovalStatus::Pending),
        ..acme
    };
    assert_eq!(ids(store.list(&acme_pending, 10, 0).await.unwrap()), ["a"]);
    assert_eq!(
        ids(store.list(&ApprovalFilter::default(), 2, 1).await.unwrap()),
        ["c", "b"]
    );
}

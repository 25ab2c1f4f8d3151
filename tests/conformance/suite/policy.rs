//! `PolicyStore` contracts.

use std::sync::Arc;

use intentgate::domain::policy::{ActivePolicy, DraftUpdate, PolicyDraft};
use intentgate::domain::tenant::TenantScope;
use intentgate::ports::{DeleteDraftOutcome, PromoteOutcome, RollbackOutcome, StoreError};

use super::{Fixture, at};

pub fn draft(id: &str, tenant: &str, secs: i64) -> PolicyDraft {
    PolicyDraft {
        id: id.into(),
        name: format!("policy {id}"),
        description: "desc".into(),
        rego_source: "package intentgate.policy\n\ndefault decision := {\"allow\": true}\n".into(),
        tenant: tenant.into(),
        created_at: at(secs),
        updated_at: at(secs),
        created_by: "ops".into(),
    }
}

async fn seed(f: &Fixture, ids: &[&str]) {
    for (i, id) in ids.iter().enumerate() {
        f.stores
            .policies
            .create_draft(&draft(id, "", i as i64))
            .await
            .unwrap();
    }
}

fn promoted(outcome: PromoteOutcome) -> ActivePolicy {
    match outcome {
        PromoteOutcome::Promoted(active) => active,
        other => panic!("expected a promotion, got {other:?}"),
    }
}

pub async fn drafts_round_trip_and_update_only_editable_fields(f: &Fixture) {
    let store = f.stores.policies.as_ref();
    let d = draft("d1", "acme", 0);
    store.create_draft(&d).await.unwrap();
    assert_eq!(store.get_draft("d1").await.unwrap(), Some(d.clone()));
    assert!(matches!(
        store.create_draft(&d).await,
        Err(StoreError::InvalidRequest(_))
    ));
    let update = DraftUpdate {
        name: "renamed".into(),
        description: String::new(),
        rego_source: "package x".into(),
        at: at(50),
    };
    let updated = store.update_draft("d1", &update).await.unwrap().unwrap();
    let want = PolicyDraft {
        name: "renamed".into(),
        description: String::new(),
        rego_source: "package x".into(),
        updated_at: at(50),
        ..d
    };
    assert_eq!(updated, want);
    assert_eq!(store.get_draft("d1").await.unwrap(), Some(want));
    assert_eq!(store.update_draft("nope", &update).await.unwrap(), None);
    assert_eq!(store.get_draft("nope").await.unwrap(), None);
}

pub async fn draft_listing_scopes_and_orders(f: &Fixture) {
    let store = f.stores.policies.as_ref();
    for (id, tenant, secs) in [
        ("a", "acme", 1),
        ("b", "", 2),
        ("c", "acme", 3),
        ("d", "globex", 4),
    ] {
        store.create_draft(&draft(id, tenant, secs)).await.unwrap();
    }
    let ids = |rows: Vec<PolicyDraft>| rows.into_iter().map(|d| d.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_drafts(&TenantScope::All, 10, 0).await.unwrap()),
        ["d", "c", "b", "a"]
    );
    assert_eq!(
        ids(store
            .list_drafts(&TenantScope::Only("acme".into()), 10, 0)
            .await
            .unwrap()),
        ["c", "a"]
    );
    assert_eq!(
        ids(store.list_drafts(&TenantScope::All, 1, 2).await.unwrap()),
        ["b"]
    );
}

pub async fn promote_tracks_one_previous_draft(f: &Fixture) {
    let store = f.stores.policies.as_ref();
    seed(f, &["d1", "d2"]).await;
    assert_eq!(
        store.active("acme").await.unwrap(),
        ActivePolicy::empty("acme")
    );
    let first = promoted(store.promote("acme", "d1", "alice", at(10)).await.unwrap());
    assert_eq!(
        (
            first.current_draft_id.as_str(),
            first.previous_draft_id.as_str()
        ),
        ("d1", "")
    );
    let second = promoted(store.promote("acme", "d2", "bob", at(20)).await.unwrap());
    let want = ActivePolicy {
        tenant: "acme".into(),
        current_draft_id: "d2".into(),
        previous_draft_id: "d1".into(),
        promoted_at: Some(at(20)),
        promoted_by: "bob".into(),
    };
    assert_eq!(second, want);
    assert_eq!(store.active("acme").await.unwrap(), want);
    let again = store.promote("acme", "d2", "carol", at(30)).await.unwrap();
    assert_eq!(again, PromoteOutcome::Unchanged(want.clone()));
    assert_eq!(
        store.active("acme").await.unwrap(),
        want,
        "re-promoting changes nothing"
    );
}

pub async fn promote_needs_an_existing_draft(f: &Fixture) {
    let store = f.stores.policies.as_ref();
    assert_eq!(
        store.promote("acme", "ghost", "a", at(0)).await.unwrap(),
        PromoteOutcome::DraftNotFound
    );
    assert_eq!(
        store.active("acme").await.unwrap(),
        ActivePolicy::empty("acme")
    );
}

pub async fn rollback_goes_back_one_step_only(f: &Fixture) {
    let store = f.stores.policies.as_ref();
    seed(f, &["d1", "d2"]).await;
    assert_eq!(
        store.rollback("acme", "x", at(0)).await.unwrap(),
        RollbackOutcome::NothingToRollBack
    );
    store.promote("acme", "d1", "a", at(1)).await.unwrap();
    store.promote("acme", "d2", "a", at(2)).await.unwrap();
    let RollbackOutcome::RolledBack(back) = store.rollback("acme", "carol", at(3)).await.unwrap()
    else {
        panic!("a previous draft exists");
    };
    assert_eq!(
        (
            back.current_draft_id.as_str(),
            back.previous_draft_id.as_str()
        ),
        ("d1", "")
    );
    assert_eq!(
        (back.promoted_by.as_str(), back.promoted_at),
        ("carol", Some(at(3)))
    );
    assert_eq!(
        store.rollback("acme", "x", at(4)).await.unwrap(),
        RollbackOutcome::NothingToRollBack
    );
    assert_eq!(store.active("acme").await.unwrap(), back);
}

pub async fn referenced_drafts_cannot_be_deleted(f: &Fixture) {
    let store = f.stores.policies.as_ref();
    seed(f, &["d1", "d2", "d3"]).await;
    store.promote("acme", "d1", "a", at(1)).await.unwrap();
    store.promote("acme", "d2", "a", at(2)).await.unwrap();
    assert_eq!(
        store.delete_draft("d1").await.unwrap(),
        DeleteDraftOutcome::InUse,
        "previous is in use"
    );
    assert_eq!(
        store.delete_draft("d2").await.unwrap(),
        DeleteDraftOutcome::InUse,
        "current is in use"
    );
    assert_eq!(
        store.delete_draft("d3").await.unwrap(),
        DeleteDraftOutcome::Deleted
    );
    assert_eq!(
        store.delete_draft("d3").await.unwrap(),
        DeleteDraftOutcome::NotFound
    );
    assert_eq!(store.get_draft("d3").await.unwrap(), None);
}

pub async fn clearing_a_tenant_falls_back_to_default(f: &Fixture) {
    let store = f.stores.policies.as_ref();
    seed(f, &["d1", "d2"]).await;
    store.promote("", "d1", "a", at(1)).await.unwrap();
    store.promote("acme", "d2", "a", at(2)).await.unwrap();
    assert_eq!(
        store.clear_active("acme").await.unwrap(),
        ActivePolicy::empty("acme")
    );
    assert_eq!(
        store.active("acme").await.unwrap(),
        ActivePolicy::empty("acme")
    );
    assert_eq!(
        store.clear_active("acme").await.unwrap(),
        ActivePolicy::empty("acme"),
        "idempotent"
    );
    let default = store.clear_active("").await.unwrap();
    assert_eq!(
        default.current_draft_id, "d1",
        "the default slot is never cleared"
    );
    assert_eq!(
        store.delete_draft("d2").await.unwrap(),
        DeleteDraftOutcome::Deleted
    );
}

pub async fn concurrent_promotes_leave_a_consistent_pointer(f: &Fixture) {
    let ids: Vec<String> = (0..16).map(|i| format!("d{i}")).collect();
    seed(f, &ids.iter().map(String::as_str).collect::<Vec<_>>()).await;
    store_listing_is_default_first(f).await;
    let tasks: Vec<_> = ids
        .iter()
        .map(|id| {
            let store = Arc::clone(&f.stores.policies);
            let id = id.clone();
            tokio::spawn(async move {
                promoted(store.promote("acme", &id, "ops", at(5)).await.unwrap())
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let empty_previous = results
        .iter()
        .filter(|a| a.previous_draft_id.is_empty())
        .count();
    assert_eq!(
        empty_previous, 1,
        "exactly one promotion found the slot empty"
    );
    let finalp = f.stores.policies.active("acme").await.unwrap();
    assert!(ids.contains(&finalp.current_draft_id));
    assert!(ids.contains(&finalp.previous_draft_id));
    assert_ne!(finalp.current_draft_id, finalp.previous_draft_id);
}

/// `list_active` puts the default slot first, then tenants ascending.
async fn store_listing_is_default_first(f: &Fixture) {
    let store = f.stores.policies.as_ref();
    store.promote("zeta", "d1", "a", at(1)).await.unwrap();
    store.promote("", "d2", "a", at(1)).await.unwrap();
    store.promote("beta", "d3", "a", at(1)).await.unwrap();
    let tenants: Vec<String> = store
        .list_active()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.tenant)
        .collect();
    assert_eq!(tenants, ["", "beta", "zeta"]);
}

//! `BudgetStore` contracts.

use std::sync::Arc;

use intentgate::domain::budget::{self, BudgetKey, WINDOW_SECS};

use super::{Fixture, at};

pub fn key(tenant: &str, jti: &str) -> BudgetKey {
    BudgetKey {
        tenant: tenant.into(),
        jti: jti.into(),
    }
}

pub async fn counts_start_at_one_and_rise(f: &Fixture) {
    let store = f.stores.budgets.as_ref();
    let k = key("acme", "j");
    assert_eq!(store.calls(&k, at(0), WINDOW_SECS).await.unwrap(), 0);
    for want in 1..=3 {
        assert_eq!(
            store.record_call(&k, at(want), WINDOW_SECS).await.unwrap(),
            want as u64
        );
    }
    assert_eq!(store.calls(&k, at(5), WINDOW_SECS).await.unwrap(), 3);
    assert_eq!(
        store.calls(&k, at(6), WINDOW_SECS).await.unwrap(),
        3,
        "calls() does not count"
    );
}

pub async fn window_restarts_after_it_ends(f: &Fixture) {
    let store = f.stores.budgets.as_ref();
    let k = key("acme", "j");
    assert_eq!(store.record_call(&k, at(0), 100).await.unwrap(), 1);
    assert_eq!(
        store.record_call(&k, at(99), 100).await.unwrap(),
        2,
        "the window is fixed from the first call"
    );
    assert_eq!(store.calls(&k, at(100), 100).await.unwrap(), 0);
    assert_eq!(store.record_call(&k, at(100), 100).await.unwrap(), 1);
    assert_eq!(store.record_call(&k, at(150), 100).await.unwrap(), 2);
}

pub async fn counters_are_isolated_by_tenant_and_token(f: &Fixture) {
    let store = f.stores.budgets.as_ref();
    store
        .record_call(&key("acme", "j"), at(0), WINDOW_SECS)
        .await
        .unwrap();
    store
        .record_call(&key("acme", "j"), at(0), WINDOW_SECS)
        .await
        .unwrap();
    assert_eq!(
        store
            .record_call(&key("globex", "j"), at(0), WINDOW_SECS)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .record_call(&key("acme", "k"), at(0), WINDOW_SECS)
            .await
            .unwrap(),
        1
    );
}

pub async fn never_overspends_under_64_concurrent_consumers(f: &Fixture) {
    const LIMIT: u64 = 10;
    let k = key("acme", "shared");
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let store = Arc::clone(&f.stores.budgets);
            let k = k.clone();
            tokio::spawn(async move { store.record_call(&k, at(0), WINDOW_SECS).await.unwrap() })
        })
        .collect();
    let mut counts = Vec::new();
    for t in tasks {
        counts.push(t.await.unwrap());
    }
    let allowed = counts
        .iter()
        .filter(|used| budget::check(**used, &[LIMIT]).is_ok())
        .count();
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=64).collect::<Vec<u64>>(),
        "every consumer got a distinct count"
    );
    assert_eq!(allowed as u64, LIMIT);
}

pub async fn a_batch_adds_each_keys_calls_at_once(f: &Fixture) {
    let store = f.stores.budgets.as_ref();
    let (a, b) = (key("acme", "a"), key("acme", "b"));
    store.record_call(&a, at(0), WINDOW_SECS).await.unwrap();
    let counts = store
        .record_calls(&[(a.clone(), 3), (b.clone(), 2)], at(1), WINDOW_SECS)
        .await
        .unwrap();
    assert_eq!(
        counts,
        vec![4, 2],
        "each key's count after its increment, in order"
    );
    assert_eq!(store.calls(&a, at(2), WINDOW_SECS).await.unwrap(), 4);
    assert_eq!(store.calls(&b, at(2), WINDOW_SECS).await.unwrap(), 2);
}

pub async fn a_batch_after_the_window_starts_a_new_one(f: &Fixture) {
    let store = f.stores.budgets.as_ref();
    let k = key("acme", "j");
    assert_eq!(store.record_call(&k, at(0), 100).await.unwrap(), 1);
    let counts = store
        .record_calls(&[(k.clone(), 5)], at(100), 100)
        .await
        .unwrap();
    assert_eq!(
        counts,
        vec![5],
        "the batch's calls are the new window's first"
    );
    assert_eq!(store.record_call(&k, at(150), 100).await.unwrap(), 6);
}

/// Batches from many writers at once (as gateway replicas send them): every call gets a
/// distinct place, so the limit admits exactly `LIMIT` of them.
pub async fn concurrent_batches_never_overspend(f: &Fixture) {
    const LIMIT: u64 = 10;
    let (shared, other) = (key("acme", "shared"), key("acme", "zother"));
    let tasks: Vec<_> = (1..=16u64)
        .map(|n| {
            let store = Arc::clone(&f.stores.budgets);
            let batch = vec![(shared.clone(), n), (other.clone(), 1)];
            tokio::spawn(async move {
                let counts = store
                    .record_calls(&batch, at(0), WINDOW_SECS)
                    .await
                    .unwrap();
                (counts[0] + 1 - n..=counts[0]).collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut places = Vec::new();
    for t in tasks {
        places.extend(t.await.unwrap());
    }
    places.sort_unstable();
    let total = (1..=16u64).sum::<u64>();
    assert_eq!(
        places,
        (1..=total).collect::<Vec<u64>>(),
        "no place given twice"
    );
    let allowed = places
        .iter()
        .filter(|used| budget::check(**used, &[LIMIT]).is_ok())
        .count();
    assert_eq!(allowed as u64, LIMIT);
}

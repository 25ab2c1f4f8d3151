//! `SessionStore` contracts.

use std::sync::Arc;

use intentgate::domain::mcp::{McpSession, SessionOwner};
use intentgate::ports::SessionCreated;

use super::{Fixture, at};

fn session(id: &str, subject: &str, upstream: Option<&str>, ttl: i64) -> McpSession {
    let owner = SessionOwner {
        tenant: "acme".into(),
        subject: subject.into(),
        root_jti: "root-1".into(),
    };
    let mut s = McpSession::open(
        id.into(),
        owner,
        upstream.map(str::to_owned),
        "2025-11-25".into(),
        at(0),
        ttl,
    );
    s.created_at = s.created_at.plus_nanos(123_456_000);
    s
}

pub async fn created_sessions_read_back_with_every_field(f: &Fixture) {
    let store = f.stores.sessions.as_ref();
    let with_upstream = session("s1", "agent <x> & \u{e9}", Some("up-7f3a"), 3600);
    let without = session("s2", "agent-y", None, 3600);
    for s in [&with_upstream, &without] {
        assert_eq!(store.create(s).await.unwrap(), SessionCreated::Created);
    }
    assert_eq!(
        store.get("s1", at(1)).await.unwrap(),
        Some(with_upstream.clone())
    );
    assert_eq!(store.get("s2", at(1)).await.unwrap(), Some(without));
    assert_eq!(store.get("nope", at(1)).await.unwrap(), None);
    let intruder = session("s1", "someone-else", None, 60);
    assert_eq!(
        store.create(&intruder).await.unwrap(),
        SessionCreated::AlreadyExists
    );
    assert_eq!(
        store.get("s1", at(1)).await.unwrap(),
        Some(with_upstream),
        "unchanged"
    );
}

pub async fn expired_sessions_are_gone_and_stay_gone(f: &Fixture) {
    let store = f.stores.sessions.as_ref();
    store
        .create(&session("short", "a", None, 10))
        .await
        .unwrap();
    store
        .create(&session("long", "a", None, 1000))
        .await
        .unwrap();
    assert!(store.get("short", at(9)).await.unwrap().is_some());
    assert_eq!(
        store.get("short", at(10)).await.unwrap(),
        None,
        "expires_at is exclusive"
    );
    assert!(
        !store.renew("short", at(11), at(500)).await.unwrap(),
        "no revival"
    );
    assert_eq!(store.get("short", at(11)).await.unwrap(), None);
    assert_eq!(store.purge_expired(at(11)).await.unwrap(), 1);
    assert_eq!(store.purge_expired(at(11)).await.unwrap(), 0);
    assert!(
        store.get("long", at(11)).await.unwrap().is_some(),
        "live sessions stay"
    );
    assert!(!store.delete("short").await.unwrap(), "purged for good");
}

pub async fn renewal_extends_and_never_shortens(f: &Fixture) {
    let store = f.stores.sessions.as_ref();
    store.create(&session("s", "a", None, 100)).await.unwrap();
    assert!(store.renew("s", at(60), at(160)).await.unwrap());
    assert_eq!(
        store.get("s", at(150)).await.unwrap().unwrap().expires_at,
        at(160)
    );
    assert!(
        store.renew("s", at(61), at(120)).await.unwrap(),
        "live, so renewed"
    );
    assert_eq!(
        store.get("s", at(150)).await.unwrap().unwrap().expires_at,
        at(160),
        "an earlier expiry never wins"
    );
    assert!(!store.renew("unknown", at(61), at(200)).await.unwrap());
}

pub async fn exactly_one_of_concurrent_deletes_wins(f: &Fixture) {
    let store = Arc::clone(&f.stores.sessions);
    store
        .create(&session("s", "a", Some("up"), 100))
        .await
        .unwrap();
    let deletes: Vec<_> = (0..16)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.delete("s").await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for d in deletes {
        won += usize::from(d.await.unwrap());
    }
    assert_eq!(won, 1);
    assert_eq!(store.get("s", at(1)).await.unwrap(), None);
}

pub async fn concurrent_creates_of_one_id_store_exactly_one(f: &Fixture) {
    let store = Arc::clone(&f.stores.sessions);
    let creates: Vec<_> = (0..16)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let s = session("same", &format!("agent-{i}"), None, 100);
                (store.create(&s).await.unwrap(), s)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for c in creates {
        let (outcome, s) = c.await.unwrap();
        if outcome == SessionCreated::Created {
            winners.push(s);
        }
    }
    assert_eq!(winners.len(), 1);
    assert_eq!(
        store.get("same", at(1)).await.unwrap().as_ref(),
        winners.first()
    );
}

pub async fn only_the_newest_sessions_of_a_caller_stay(f: &Fixture) {
    let store = f.stores.sessions.as_ref();
    let mut a = Vec::new();
    for i in 0..5 {
        let mut s = session(&format!("a{i}"), "agent-a", Some("up"), 1000);
        s.created_at = at(i);
        store.create(&s).await.unwrap();
        a.push(s);
    }
    let mut expired = session("a-old", "agent-a", None, 1);
    expired.created_at = at(-100);
    store.create(&expired).await.unwrap();
    let b = session("b0", "agent-b", None, 1000);
    store.create(&b).await.unwrap();
    let owner = a[0].owner.clone();
    let mut evicted = store.evict_beyond(&owner, 3, at(10)).await.unwrap();
    evicted.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(
        evicted,
        vec![a[0].clone(), a[1].clone()],
        "the two oldest live ones"
    );
    for kept in &a[2..] {
        assert!(
            store.get(&kept.id, at(10)).await.unwrap().is_some(),
            "{}",
            kept.id
        );
    }
    assert_eq!(
        store.get("b0", at(10)).await.unwrap(),
        Some(b),
        "another caller's"
    );
    assert!(
        store
            .evict_beyond(&owner, 3, at(10))
            .await
            .unwrap()
            .is_empty()
    );
}

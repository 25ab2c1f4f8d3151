//! `RevocationStore` contracts.

use intentgate::domain::revocation::Revocation;
use intentgate::domain::tenant::TenantScope;
use intentgate::ports::RevokeOutcome;

use super::{Fixture, at};

pub fn revocation(jti: &str, tenant: &str, secs: i64) -> Revocation {
    Revocation {
        jti: jti.into(),
        tenant: tenant.into(),
        reason: format!("r-{jti}"),
        revoked_at: at(secs),
    }
}

pub async fn unknown_token_is_not_revoked(f: &Fixture) {
    assert!(
        !f.stores
            .revocations
            .is_revoked("jti-1", "acme")
            .await
            .unwrap()
    );
}

pub async fn tenant_rows_cover_their_tenant_and_global_rows_cover_all(f: &Fixture) {
    let store = f.stores.revocations.as_ref();
    store
        .revoke(&revocation("t-acme", "acme", 0))
        .await
        .unwrap();
    store.revoke(&revocation("t-all", "", 0)).await.unwrap();
    assert!(store.is_revoked("t-acme", "acme").await.unwrap());
    assert!(
        !store.is_revoked("t-acme", "globex").await.unwrap(),
        "a tenant row binds one tenant"
    );
    assert!(store.is_revoked("t-all", "acme").await.unwrap());
    assert!(
        store.is_revoked("t-all", "globex").await.unwrap(),
        "a global row binds every tenant"
    );
}

pub async fn revoking_again_updates_reason_and_keeps_time(f: &Fixture) {
    let store = f.stores.revocations.as_ref();
    let first = revocation("j", "acme", 0);
    assert_eq!(
        store.revoke(&first).await.unwrap(),
        RevokeOutcome::Revoked(first.clone())
    );
    let again = Revocation {
        reason: "second".into(),
        revoked_at: at(60),
        ..first.clone()
    };
    let want = Revocation {
        reason: "second".into(),
        ..first
    };
    assert_eq!(
        store.revoke(&again).await.unwrap(),
        RevokeOutcome::AlreadyRevoked(want.clone())
    );
    assert_eq!(store.list(&TenantScope::All, 10, 0).await.unwrap(), [want]);
}

pub async fn list_scopes_and_orders_newest_first(f: &Fixture) {
    let store = f.stores.revocations.as_ref();
    for (jti, tenant, secs) in [
        ("a", "acme", 1),
        ("b", "", 2),
        ("c", "acme", 3),
        ("d", "globex", 4),
    ] {
        store.revoke(&revocation(jti, tenant, secs)).await.unwrap();
    }
    let jtis = |rows: Vec<Revocation>| rows.into_iter().map(|r| r.jti).collect::<Vec<_>>();
    assert_eq!(
        jtis(store.list(&TenantScope::All, 10, 0).await.unwrap()),
        ["d", "c", "b", "a"]
    );
    assert_eq!(
        jtis(
            store
                .list(&TenantScope::Only("acme".into()), 10, 0)
                .await
                .unwrap()
        ),
        ["c", "a"]
    );
    assert_eq!(
        jtis(
            store
                .list(&TenantScope::Only(String::new()), 10, 0)
                .await
                .unwrap()
        ),
        ["b"]
    );
    assert_eq!(
        jtis(store.list(&TenantScope::All, 2, 1).await.unwrap()),
        ["c", "b"]
    );
    assert!(
        store
            .list(&TenantScope::All, 10, 4)
            .await
            .unwrap()
            .is_empty()
    );
}

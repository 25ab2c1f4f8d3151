//! Every port keeps tenants apart.

use intentgate::domain::audit::AuditQuery;
use intentgate::domain::budget::WINDOW_SECS;
use intentgate::domain::tenant::TenantScope;
use intentgate::ports::{ApprovalFilter, DecideOutcome};

use super::{Fixture, approval, at, audit, budget, policy, revocation};

pub async fn tenants_are_isolated_across_every_port(f: &Fixture) {
    let s = &f.stores;
    audit::append(
        s.audit.as_ref(),
        "acme",
        vec![audit::event("acme", 0, "read")],
    )
    .await;
    s.revocations
        .revoke(&revocation::revocation("jti-1", "acme", 0))
        .await
        .unwrap();
    s.budgets
        .record_call(&budget::key("acme", "jti-1"), at(0), WINDOW_SECS)
        .await
        .unwrap();
    s.approvals
        .create(&approval::pending("p1", "acme", 0))
        .await
        .unwrap();
    s.policies
        .create_draft(&policy::draft("d1", "acme", 0))
        .await
        .unwrap();
    s.policies
        .promote("acme", "d1", "ops", at(1))
        .await
        .unwrap();

    let globex = TenantScope::Only("globex".into());
    assert_eq!(s.audit.head("globex").await.unwrap(), None);
    let q = AuditQuery {
        tenant: globex.clone(),
        ..AuditQuery::default()
    };
    assert!(s.audit.query(&q).await.unwrap().is_empty());
    assert_eq!(s.audit.count(&q).await.unwrap(), 0);
    assert!(!s.revocations.is_revoked("jti-1", "globex").await.unwrap());
    assert!(s.revocations.list(&globex, 10, 0).await.unwrap().is_empty());
    assert_eq!(
        s.budgets
            .calls(&budget::key("globex", "jti-1"), at(0), WINDOW_SECS)
            .await
            .unwrap(),
        0
    );
    let filter = ApprovalFilter {
        tenant: globex.clone(),
        status: None,
    };
    assert!(s.approvals.list(&filter, 10, 0).await.unwrap().is_empty());
    assert!(
        s.policies
            .list_drafts(&globex, 10, 0)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.policies.active("globex").await.unwrap().current_draft_id,
        ""
    );
    assert_eq!(
        s.policies.active("").await.unwrap().current_draft_id,
        "",
        "not the default slot either"
    );

    // And the owner still sees its own rows.
    assert!(s.revocations.is_revoked("jti-1", "acme").await.unwrap());
    let row = s.approvals.get("p1").await.unwrap().unwrap();
    assert_eq!(row.tenant, "acme");
    assert!(matches!(
        s.approvals
            .decide("p1", &approval_decision())
            .await
            .unwrap(),
        DecideOutcome::Decided(_)
    ));
}

fn approval_decision() -> intentgate::domain::approval::ApprovalDecision {
    intentgate::domain::approval::ApprovalDecision {
        verdict: intentgate::domain::approval::ApprovalVerdict::Approve,
        decided_by: "acme-admin".into(),
        note: String::new(),
        at: at(2),
    }
}

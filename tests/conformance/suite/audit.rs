//! `AuditChainStore` contracts.

use std::sync::Arc;

use intentgate::app::admin::verify_chain;
use intentgate::domain::audit::{
    AuditEvent, AuditQuery, BreakReason, ChainHead, ChainVerifier, ChainedEvent, seal,
};
use intentgate::domain::tenant::TenantScope;
use intentgate::ports::{AppendOutcome, AuditChainStore, StoreError};

use super::{Fixture, at};

/// An event of `tenant` at `t0 + secs` (plus `nanos`, to test truncation).
pub fn event(tenant: &str, secs: i64, tool: &str) -> AuditEvent {
    let mut e = AuditEvent::new(at(secs).plus_nanos(123_456_789), "allow", tool);
    e.tenant = tenant.into();
    e.agent_id = "agent-a".into();
    e
}

/// Seals `events` onto the chain's current head and appends them, retrying when
/// another writer moved the head first (what the audit writer does).
pub async fn append(
    store: &dyn AuditChainStore,
    chain: &str,
    events: Vec<AuditEvent>,
) -> ChainHead {
    let mut head = store.head(chain).await.unwrap();
    loop {
        let run = seal(chain, head.as_ref(), events.clone());
        match store.append(&run).await.unwrap() {
            AppendOutcome::Appended(new_head) => return new_head,
            AppendOutcome::HeadMoved { current } => head = current,
        }
    }
}

async fn whole_chain(store: &dyn AuditChainStore, chain: &str) -> Vec<ChainedEvent> {
    store.range(chain, 1, 100_000).await.unwrap()
}

fn verify(records: &[ChainedEvent]) -> (bool, u64) {
    let mut verifier = ChainVerifier::new(None, None);
    let intact = records.iter().all(|r| verifier.feed(r));
    let report = verifier.finish(None);
    (intact && report.ok, report.verified)
}

pub async fn empty_chain_has_no_head(f: &Fixture) {
    assert_eq!(f.stores.audit.head("acme").await.unwrap(), None);
    assert!(
        f.stores
            .audit
            .range("acme", 1, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn first_append_starts_the_chain_at_one(f: &Fixture) {
    let run = seal("acme", None, vec![event("acme", 0, "read")]);
    let outcome = f.stores.audit.append(&run).await.unwrap();
    assert_eq!(outcome, AppendOutcome::Appended(run[0].head()));
    let head = f.stores.audit.head("acme").await.unwrap().unwrap();
    assert_eq!((head.seq, head.hash.as_str()), (1, run[0].hash.as_str()));
    assert_eq!(head.ts, run[0].event.ts);
}

pub async fn runs_append_atomically_and_read_back_in_order(f: &Fixture) {
    let store = f.stores.audit.as_ref();
    append(store, "acme", vec![event("acme", 0, "a")]).await;
    let run: Vec<AuditEvent> = (1..=5)
        .map(|i| event("acme", i, &format!("t{i}")))
        .collect();
    let head = append(store, "acme", run).await;
    assert_eq!(head.seq, 6);
    let all = whole_chain(store, "acme").await;
    assert_eq!(
        all.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6]
    );
    assert_eq!(all[3].event.tool, "t3");
    let middle = store.range("acme", 3, 2).await.unwrap();
    assert_eq!(middle.iter().map(|r| r.seq).collect::<Vec<_>>(), [3, 4]);
    assert!(store.range("acme", 7, 10).await.unwrap().is_empty());
    assert!(store.range("globex", 1, 10).await.unwrap().is_empty());
    let positions = store.hashes("acme", 2, 3).await.unwrap();
    let want: Vec<(u64, String)> = all[1..4].iter().map(|r| (r.seq, r.hash.clone())).collect();
    assert_eq!(positions, want, "hashes are range without the events");
    assert!(store.hashes("acme", 7, 10).await.unwrap().is_empty());
    assert!(store.hashes("globex", 1, 10).await.unwrap().is_empty());
}

pub async fn stale_head_is_rejected_without_writing(f: &Fixture) {
    let store = f.stores.audit.as_ref();
    let head = append(store, "acme", vec![event("acme", 0, "a")]).await;
    let first = seal("acme", Some(&head), vec![event("acme", 1, "b")]);
    let rival = seal(
        "acme",
        Some(&head),
        vec![event("acme", 1, "c"), event("acme", 2, "d")],
    );
    assert!(matches!(
        store.append(&first).await.unwrap(),
        AppendOutcome::Appended(_)
    ));
    let outcome = store.append(&rival).await.unwrap();
    assert_eq!(
        outcome,
        AppendOutcome::HeadMoved {
            current: Some(first[0].head())
        }
    );
    let stale_genesis = seal("acme", None, vec![event("acme", 3, "e")]);
    assert!(matches!(
        store.append(&stale_genesis).await.unwrap(),
        AppendOutcome::HeadMoved { .. }
    ));
    let all = whole_chain(store, "acme").await;
    assert_eq!(
        all.iter()
            .map(|r| r.event.tool.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
}

pub async fn malformed_runs_are_rejected(f: &Fixture) {
    let store = f.stores.audit.as_ref();
    assert!(matches!(
        store.append(&[]).await,
        Err(StoreError::InvalidRequest(_))
    ));
    let mut run = seal(
        "acme",
        None,
        vec![event("acme", 0, "a"), event("acme", 1, "b")],
    );
    run[1].seq = 5;
    assert!(matches!(
        store.append(&run).await,
        Err(StoreError::InvalidRequest(_))
    ));
    let mut mixed = seal(
        "acme",
        None,
        vec![event("acme", 0, "a"), event("acme", 1, "b")],
    );
    mixed[1].chain = "globex".into();
    assert!(matches!(
        store.append(&mixed).await,
        Err(StoreError::InvalidRequest(_))
    ));
    assert_eq!(store.head("acme").await.unwrap(), None);
}

pub async fn parallel_appends_give_a_gapless_verifiable_chain(f: &Fixture) {
    let writers: Vec<_> = (0..64)
        .map(|i| {
            let store = Arc::clone(&f.stores.audit);
            tokio::spawn(async move {
                append(
                    store.as_ref(),
                    "acme",
                    vec![event("acme", i, &format!("w{i}"))],
                )
                .await
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let nothing = f.stores.audit.append_exclusive("acme", &[]).await;
    assert!(
        matches!(nothing, Err(StoreError::InvalidRequest(_))),
        "{nothing:?}"
    );
    let all = whole_chain(f.stores.audit.as_ref(), "acme").await;
    assert_eq!(
        all.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1..=64).collect::<Vec<u64>>()
    );
    assert_eq!(verify(&all), (true, 64));
    let mut tools: Vec<String> = all.into_iter().map(|r| r.event.tool).collect();
    tools.sort();
    tools.dedup();
    assert_eq!(tools.len(), 64, "every writer's event landed exactly once");
}

/// An event with every field set, including characters that stress escaping.
fn full_event() -> AuditEvent {
    let mut e = AuditEvent::new(
        at(7).plus_nanos(987_654_321),
        "escalate",
        "transfer <funds> & \u{2028}",
    );
    e.check = "policy".into();
    e.reason = "needs \"human\" review\n\u{e9}".into();
    e.tenant = "acme".into();
    e.agent_id = "agent-a".into();
    e.session_id = "s-1".into();
    e.arg_keys = vec!["amount".into(), "to".into()];
    e.arg_values = Some(serde_json::json!({"amount": 50000, "to": null, "nested": [1.5, true]}));
    e.capability_token_id = "jti-1".into();
    e.root_capability_token_id = "root-1".into();
    e.caveat_count = 4;
    e.pending_id = "pend-1".into();
    e.decided_by = "alice@acme".into();
    e.intent_summary = "pay invoices".into();
    e.latency_ms = 12;
    e.remote_ip = "127.0.0.1:5555".into();
    e.upstream_status = 502;
    e.requires_step_up = true;
    e.elevation_id = "elev-9".into();
    e
}

pub async fn stored_events_keep_every_field_and_rehash_identically(f: &Fixture) {
    let store = f.stores.audit.as_ref();
    append(store, "acme", vec![full_event(), event("acme", 8, "b")]).await;
    let stored = whole_chain(store, "acme").await;
    let mut want = full_event();
    want.ts = want.ts.truncate_to_micros();
    assert_eq!(stored[0].event, want);
    assert_eq!(verify(&stored), (true, 2));
    let by_tool = AuditQuery {
        tool: want.tool.clone(),
        ..AuditQuery::default()
    };
    let queried = store.query(&by_tool).await.unwrap();
    assert_eq!(queried[0].event, want, "query returns every stored field");
}

/// Events over two tenants for the query scenarios; returns them in append order.
async fn seed_queries(store: &dyn AuditChainStore) {
    let mut events = Vec::new();
    for i in 0..6 {
        let mut e = event(
            if i % 2 == 0 { "acme" } else { "globex" },
            i,
            if i < 3 { "read" } else { "pay" },
        );
        e.decision = if i == 4 {
            "block".into()
        } else {
            "allow".into()
        };
        e.check = if i == 4 {
            "policy".into()
        } else {
            String::new()
        };
        e.capability_token_id = format!("jti-{}", i % 3);
        e.elevation_id = if i == 5 {
            "elev-1".into()
        } else {
            String::new()
        };
        e.agent_id = if i == 1 {
            "agent-b".into()
        } else {
            "agent-a".into()
        };
        events.push(e);
    }
    for e in events {
        let chain = e.tenant.clone();
        append(store, &chain, vec![e]).await;
    }
}

fn tools_of(records: &[ChainedEvent]) -> Vec<(String, u64)> {
    records.iter().map(|r| (r.chain.clone(), r.seq)).collect()
}

pub async fn query_filters_orders_and_pages(f: &Fixture) {
    let store = f.stores.audit.as_ref();
    seed_queries(store).await;
    let q = |query: AuditQuery| async move { tools_of(&store.query(&query).await.unwrap()) };
    let pair = |c: &str, s: u64| (c.to_owned(), s);
    let everything = q(AuditQuery::default()).await;
    assert_eq!(
        everything,
        [
            pair("globex", 3),
            pair("acme", 3),
            pair("globex", 2),
            pair("acme", 2),
            pair("globex", 1),
            pair("acme", 1)
        ]
    );
    let acme = q(AuditQuery {
        tenant: TenantScope::Only("acme".into()),
        ..AuditQuery::default()
    });
    assert_eq!(
        acme.await,
        [pair("acme", 3), pair("acme", 2), pair("acme", 1)]
    );
    let window = AuditQuery {
        from: Some(at(2)),
        to: Some(at(4).plus_nanos(123_456_000)),
        ..AuditQuery::default()
    };
    assert_eq!(
        q(window).await,
        [pair("acme", 3), pair("globex", 2), pair("acme", 2)],
        "bounds are inclusive"
    );
    let blocked = AuditQuery {
        decision: "block".into(),
        check: "policy".into(),
        ..AuditQuery::default()
    };
    assert_eq!(q(blocked).await, [pair("acme", 3)]);
    assert_eq!(
        q(AuditQuery {
            tool: "pay".into(),
            agent_id: "agent-a".into(),
            ..AuditQuery::default()
        })
        .await
        .len(),
        3
    );
    assert_eq!(
        q(AuditQuery {
            agent_id: "agent-b".into(),
            ..AuditQuery::default()
        })
        .await,
        [pair("globex", 1)]
    );
    assert_eq!(
        q(AuditQuery {
            jti: "jti-0".into(),
            ..AuditQuery::default()
        })
        .await,
        [pair("globex", 2), pair("acme", 1)]
    );
    assert_eq!(
        q(AuditQuery {
            elevation_id: "elev-1".into(),
            ..AuditQuery::default()
        })
        .await,
        [pair("globex", 3)]
    );
    assert!(
        q(AuditQuery {
            tool: "nope".into(),
            ..AuditQuery::default()
        })
        .await
        .is_empty()
    );
    let paged = AuditQuery {
        limit: 2,
        offset: 3,
        ..AuditQuery::default()
    };
    assert_eq!(q(paged).await, [pair("acme", 2), pair("globex", 1)]);
    assert!(
        q(AuditQuery {
            offset: 6,
            ..AuditQuery::default()
        })
        .await
        .is_empty()
    );
}

pub async fn cursor_pages_visit_every_record_once(f: &Fixture) {
    let store = f.stores.audit.as_ref();
    seed_queries(store).await;
    let everything = store.query(&AuditQuery::default()).await.unwrap();
    let mut paged = Vec::new();
    let mut query = AuditQuery {
        limit: 2,
        ..AuditQuery::default()
    };
    // Bounded: a cursor that did not move on would page forever.
    for _ in 0..=everything.len() {
        let page = store.query(&query).await.unwrap();
        let Some(last) = page.last() else { break };
        query.after = Some(intentgate::domain::audit::QueryCursor::of(last));
        paged.extend(page);
    }
    assert_eq!(tools_of(&paged), tools_of(&everything));
    let acme_after_first = AuditQuery {
        tenant: TenantScope::Only("acme".into()),
        after: Some(intentgate::domain::audit::QueryCursor::of(&everything[0])),
        ..AuditQuery::default()
    };
    let rest = store.query(&acme_after_first).await.unwrap();
    assert_eq!(
        tools_of(&rest),
        [
            ("acme".to_owned(), 3),
            ("acme".to_owned(), 2),
            ("acme".to_owned(), 1)
        ]
    );
    assert_eq!(store.count(&acme_after_first).await.unwrap(), 3);
}

/// Events sharing one timestamp order by chain, then seq, both descending; window bounds
/// equal to that timestamp include them all; a cursor in the middle of the tie resumes
/// right after it.
pub async fn equal_timestamps_order_by_chain_then_seq(f: &Fixture) {
    let store = f.stores.audit.as_ref();
    for chain in ["acme", "a", "acmf"] {
        append(
            store,
            chain,
            vec![event(chain, 7, "t"), event(chain, 7, "t")],
        )
        .await;
    }
    append(
        store,
        "acme",
        vec![event("acme", 6, "t"), event("acme", 8, "t")],
    )
    .await;
    let tied = AuditQuery {
        from: Some(at(7).plus_nanos(123_456_000)),
        to: Some(at(7).plus_nanos(123_456_000)),
        ..AuditQuery::default()
    };
    let pair = |c: &str, s: u64| (c.to_owned(), s);
    let all_tied = [
        pair("acmf", 2),
        pair("acmf", 1),
        pair("acme", 2),
        pair("acme", 1),
        pair("a", 2),
        pair("a", 1),
    ];
    let records = store.query(&tied).await.unwrap();
    assert_eq!(tools_of(&records), all_tied);
    let resumed = AuditQuery {
        after: Some(intentgate::domain::audit::QueryCursor::of(&records[2])),
        ..tied.clone()
    };
    assert_eq!(
        tools_of(&store.query(&resumed).await.unwrap()),
        all_tied[3..]
    );
    let everything = tools_of(&store.query(&AuditQuery::default()).await.unwrap());
    assert_eq!(everything.first(), Some(&pair("acme", 4)));
    assert_eq!(everything.last(), Some(&pair("acme", 3)));
}

/// Appends `events` to a new chain in runs of 500 (one sealed run, split).
async fn append_in_runs(store: &dyn AuditChainStore, run: Vec<ChainedEvent>) {
    for part in run.chunks(500) {
        assert!(matches!(
            store.append(part).await.unwrap(),
            AppendOutcome::Appended(_)
        ));
    }
}

/// Verification walks a chain of several pages (it reads the next page while hashing
/// the current one), reports the head when intact, and stops at a body tampered with on
/// a later page, counting only what it verified before.
pub async fn verify_walks_many_pages_and_stops_at_a_late_break(f: &Fixture) {
    let store = f.stores.audit.as_ref();
    let events = |tenant: &str| (0..4500).map(|i| event(tenant, i, "t")).collect();
    append_in_runs(store, seal("acme", None, events("acme"))).await;
    let intact = verify_chain(store, "acme", None, None).await.unwrap();
    assert!(intact.ok, "{intact:?}");
    assert_eq!(
        (intact.verified, intact.head.map(|h| h.seq)),
        (4500, Some(4500))
    );

    let mut run = seal("globex", None, events("globex"));
    run[4200].event.tool = "tampered".into();
    append_in_runs(store, run).await;
    let broken = verify_chain(store, "globex", None, None).await.unwrap();
    assert!(!broken.ok && broken.head.is_none(), "{broken:?}");
    assert_eq!(broken.verified, 4200);
    let at = broken.broken_at.unwrap();
    assert_eq!((at.seq, at.reason), (4201, BreakReason::HashMismatch));
}

pub async fn count_ignores_paging(f: &Fixture) {
    let store = f.stores.audit.as_ref();
    seed_queries(store).await;
    let paged = AuditQuery {
        limit: 1,
        offset: 4,
        ..AuditQuery::default()
    };
    assert_eq!(store.count(&paged).await.unwrap(), 6);
    let globex = AuditQuery {
        tenant: TenantScope::Only("globex".into()),
        ..AuditQuery::default()
    };
    assert_eq!(store.count(&globex).await.unwrap(), 3);
    let none = AuditQuery {
        decision: "escalate".into(),
        ..AuditQuery::default()
    };
    assert_eq!(store.count(&none).await.unwrap(), 0);
}

/// Any text an agent sends is kept exactly and still verifies: U+0000 (which Postgres
/// text refuses), U+FFFF (the Postgres escape), control characters, astral characters
/// and a long value, in every string field, argument keys and values, and the tenant
/// (so the chain name) itself; a filter on such a value finds it.
pub async fn odd_text_is_stored_losslessly_and_verifies(f: &Fixture) {
    let store = f.stores.audit.as_ref();
    let odd = [
        "a\0b",
        "\0",
        "\u{FFFF}0",
        "\u{FFFF}\u{FFFF}\0",
        "tab\tcr\rlf\n\u{1b}[31m",
        "\u{FFFD}🦀\u{10FFFF}",
    ];
    let tenant = "ten\0ant";
    let mut events = Vec::new();
    for (i, text) in odd.iter().enumerate() {
        let mut e = event(tenant, i64::try_from(i).unwrap(), text);
        e.reason = format!("{text}{}", "r".repeat(100_000 * usize::from(i == 0)));
        e.agent_id = (*text).into();
        e.session_id = (*text).into();
        e.intent_summary = (*text).into();
        e.arg_keys = vec![(*text).into(), "plain".into()];
        let mut values = serde_json::Map::new();
        values.insert((*text).into(), serde_json::json!([text, {"k": text}]));
        e.arg_values = Some(serde_json::Value::Object(values));
        events.push(e);
    }
    let chain = intentgate::domain::audit::chain_key(tenant);
    append(store, chain, events.clone()).await;
    let stored = whole_chain(store, chain).await;
    assert_eq!(stored.len(), odd.len());
    for (record, mut want) in stored.iter().zip(events) {
        want.ts = want.ts.truncate_to_micros();
        assert_eq!(record.event, want);
        assert_eq!(record.chain, chain);
    }
    assert_eq!(verify(&stored), (true, 6));
    let by_tool = AuditQuery {
        tool: "a\0b".into(),
        tenant: TenantScope::Only(tenant.into()),
        ..AuditQuery::default()
    };
    let found = store.query(&by_tool).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].event.agent_id, "a\0b");
    assert_eq!(store.count(&by_tool).await.unwrap(), 1);
}

/// Chain names are bytes: in a store ordered by bytes, the keys of a chain named as
/// another plus `0 …` sort among the other's keys once positions pass 255. Each chain
/// still reads, hashes and verifies alone.
pub async fn chains_whose_names_extend_each_other_stay_apart(f: &Fixture) {
    let store = f.stores.audit.as_ref();
    let tenants = ["ten", "ten\0", "ten\0ant"];
    for tenant in tenants {
        let events = (0..300).map(|i| event(tenant, i, "t")).collect();
        append(store, intentgate::domain::audit::chain_key(tenant), events).await;
    }
    for tenant in tenants {
        let chain = intentgate::domain::audit::chain_key(tenant);
        let stored = whole_chain(store, chain).await;
        assert!(stored.iter().all(|r| r.chain == chain), "{chain:?}");
        assert_eq!(verify(&stored), (true, 300), "{chain:?}");
        let hashes = store.hashes(chain, 1, 1000).await.unwrap();
        let positions: Vec<u64> = hashes.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(positions, (1..=300).collect::<Vec<u64>>(), "{chain:?}");
    }
}

/// Writers that append in turn (`append_exclusive`), eight at once beside one that
/// seals on the head it read (the first try of a writer that has not lost a race yet),
/// are all written, none refused: one gapless chain, each writer's events in its own
/// order. (That writers in turn refuse no insert of each other's on Postgres is shown
/// by `scripts/bench-replicas.sh`'s rolled back transactions, not here.)
pub async fn appends_in_turn_and_out_of_turn_all_land(f: &Fixture) {
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let store = Arc::clone(&f.stores.audit);
            tokio::spawn(async move {
                for i in 0..5 {
                    let events = [event("acme", i, &format!("w{w}-{i}"))];
                    let written = store.append_exclusive("acme", &events).await.unwrap();
                    assert_eq!(written.len(), 1);
                    assert_eq!(written[0].event.tool, format!("w{w}-{i}"));
                }
            })
        })
        .collect();
    for i in 0..5 {
        append(
            f.stores.audit.as_ref(),
            "acme",
            vec![event("acme", i, &format!("o-{i}"))],
        )
        .await;
    }
    for w in writers {
        w.await.unwrap();
    }
    let nothing = f.stores.audit.append_exclusive("acme", &[]).await;
    assert!(
        matches!(nothing, Err(StoreError::InvalidRequest(_))),
        "{nothing:?}"
    );
    let all = whole_chain(f.stores.audit.as_ref(), "acme").await;
    assert_eq!(verify(&all), (true, 45));
    for writer in (0..8).map(|w| format!("w{w}-")).chain(["o-".to_owned()]) {
        let own: Vec<&str> = all
            .iter()
            .map(|r| r.event.tool.as_str())
            .filter(|t| t.starts_with(&writer))
            .collect();
        let expected: Vec<String> = (0..5).map(|i| format!("{writer}{i}")).collect();
        assert_eq!(own, expected);
    }
}

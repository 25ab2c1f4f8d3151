//! §14.8 Audit, and the sync-durability guarantees.

use crate::support::Backend;
use std::sync::Arc;

use async_trait::async_trait;
use intentgate::app::{AuditWriter, Gateway};
use intentgate::config::{AuditDurability, AuditTarget};
use intentgate::domain::audit::{AuditQuery, ChainHead, ChainVerifier, ChainedEvent};
use intentgate::ports::{AppendOutcome, AuditChainStore, StoreError, StoreResult};
use serde_json::json;

use crate::support::{FakeServer, Reply, TestGateway};

pub async fn s72_s76_concurrent_calls_give_one_verifiable_chain(backend: Backend) {
    let gw = TestGateway::start(
        backend,
        &[("INTENTGATE_AUDIT_PERSIST_ARG_VALUES", "scalars")],
    )
    .await;
    let calls: Vec<_> = (0..200)
        .map(|i| {
            let url = gw.url.clone();
            tokio::spawn(async move {
                let body =
                    crate::support::tool_call("read_invoice", json!({"n": i, "s": "secret"}));
                reqwest::Client::new()
                    .post(format!("{url}/v1/mcp"))
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap()
            })
        })
        .collect();
    for c in calls {
        assert_eq!(c.await.unwrap().status().as_u16(), 200);
    }
    let chain = gw.audit("").await;
    assert_eq!(chain.len(), 200, "every answered call was committed first");
    let mut verifier = ChainVerifier::new(None, None);
    assert!(chain.iter().all(|r| verifier.feed(r)));
    assert_eq!(verifier.finish(None).verified, 200);
    let values = chain[0].event.arg_values.clone().unwrap();
    assert_eq!(
        values["s"],
        serde_json::Value::Null,
        "scalars mode drops strings"
    );
    assert!(values["n"].is_number());
}

/// An audit store that cannot commit.
struct BrokenAudit;

#[async_trait]
impl AuditChainStore for BrokenAudit {
    async fn head(&self, _: &str) -> StoreResult<Option<ChainHead>> {
        Err(StoreError::Unavailable {
            backend: "test",
            message: "disk on fire".into(),
        })
    }
    async fn append(&self, _: &[ChainedEvent]) -> StoreResult<AppendOutcome> {
        Err(StoreError::Unavailable {
            backend: "test",
            message: "disk on fire".into(),
        })
    }
    async fn range(&self, _: &str, _: u64, _: u32) -> StoreResult<Vec<ChainedEvent>> {
        Ok(Vec::new())
    }
    async fn query(&self, _: &AuditQuery) -> StoreResult<Vec<ChainedEvent>> {
        Ok(Vec::new())
    }
    async fn count(&self, _: &AuditQuery) -> StoreResult<u64> {
        Ok(0)
    }
}

/// Rebuilds a test gateway's services around a broken audit store.
fn with_broken_audit(gw: &TestGateway) -> Arc<Gateway> {
    let g = &gw.gateway;
    let (audit, _task) = AuditWriter::spawn(
        Arc::new(BrokenAudit),
        AuditTarget::None,
        AuditDurability::Sync,
        16,
        Vec::new(),
    );
    Arc::new(Gateway {
        stores: g.stores.clone(),
        clock: Arc::clone(&g.clock),
        key: g.key.clone(),
        policy: Arc::clone(&g.policy),
        extractor: g.extractor.clone(),
        upstream: g.upstream.clone(),
        audit,
        budgets: Arc::clone(&g.budgets),
        approvals: g.approvals.clone(),
        settings: g.settings.clone(),
        admin: g.admin.clone(),
        policy_label: g.policy_label.clone(),
        metrics_enabled: g.metrics_enabled,
        sessions: Arc::clone(&g.sessions),
        mcp: g.mcp.clone(),
    })
}

/// Serves a test gateway's services around a broken audit store; returns its address.
async fn serve_with_broken_audit(gw: &TestGateway) -> std::net::SocketAddr {
    let acceptor = intentgate::bootstrap::bind("127.0.0.1:0").await.unwrap();
    let addr = poem::listener::Acceptor::local_addr(&acceptor)[0]
        .as_socket_addr()
        .copied()
        .unwrap();
    tokio::spawn(intentgate::adapters::http::serve(
        acceptor,
        with_broken_audit(gw),
        std::future::pending(),
    ));
    addr
}

async fn post_text(addr: &std::net::SocketAddr, body: &serde_json::Value) -> String {
    reqwest::Client::new()
        .post(format!("http://{addr}/v1/mcp"))
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

pub async fn an_allowed_call_whose_audit_fails_is_denied_and_never_forwarded(backend: Backend) {
    let up = FakeServer::start(|_| Reply::json(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#)).await;
    let gw = TestGateway::start(backend, &[("INTENTGATE_UPSTREAM_URL", &up.url)]).await;
    let addr = serve_with_broken_audit(&gw).await;
    let body = crate::support::tool_call("read_invoice", json!({}));
    let text = post_text(&addr, &body).await;
    let r: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(r["error"]["code"], -32603);
    assert_eq!(r["error"]["message"], "audit log unavailable");
    assert!(
        r["error"]["data"]
            .as_str()
            .unwrap()
            .contains("disk on fire")
    );
    assert!(
        up.requests().is_empty(),
        "nothing reaches the tool server without a durable record"
    );
}

/// A relayed data read (`resources/read`) whose record cannot be committed does not
/// hand out what the tool server returned.
pub async fn a_relayed_read_whose_audit_fails_returns_no_data(backend: Backend) {
    let up = FakeServer::start(|_| {
        Reply::json(r#"{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"file:///x","text":"secret"}]}}"#)
    })
    .await;
    let gw = TestGateway::start(backend, &[("INTENTGATE_UPSTREAM_URL", &up.url)]).await;
    let addr = serve_with_broken_audit(&gw).await;
    let body =
        json!({"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///x"}});
    let text = post_text(&addr, &body).await;
    assert!(!text.contains("secret"), "{text}");
    let r: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(r["error"]["message"], "audit log unavailable");
}

pub async fn async_durability_answers_without_waiting(backend: Backend) {
    let gw = TestGateway::start(backend, &[("INTENTGATE_AUDIT_DURABILITY", "async")]).await;
    let r = gw.call("read_invoice", json!({}), None).await;
    assert!(r.get("result").is_some());
    for _ in 0..100 {
        if gw.audit("").await.len() == 1 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the queued event was never written");
}

/// An audit store that takes its time.
struct SlowAudit(intentgate::adapters::memory::MemoryAudit);

#[async_trait]
impl AuditChainStore for SlowAudit {
    async fn head(&self, chain: &str) -> StoreResult<Option<ChainHead>> {
        self.0.head(chain).await
    }
    async fn append(&self, records: &[ChainedEvent]) -> StoreResult<AppendOutcome> {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        self.0.append(records).await
    }
    async fn range(&self, chain: &str, from: u64, limit: u32) -> StoreResult<Vec<ChainedEvent>> {
        self.0.range(chain, from, limit).await
    }
    async fn query(&self, q: &AuditQuery) -> StoreResult<Vec<ChainedEvent>> {
        self.0.query(q).await
    }
    async fn count(&self, q: &AuditQuery) -> StoreResult<u64> {
        self.0.count(q).await
    }
}

/// A writer over a [`SlowAudit`] store, without sinks.
fn slow_writer(durability: AuditDurability, capacity: usize) -> (Arc<SlowAudit>, Arc<AuditWriter>) {
    let store = Arc::new(SlowAudit(Default::default()));
    let (writer, _task) = AuditWriter::spawn(
        store.clone(),
        AuditTarget::None,
        durability,
        capacity,
        Vec::new(),
    );
    (store, writer)
}

/// An `allow` event of tenant `acme` at `secs` after the epoch.
fn event(secs: i64) -> intentgate::domain::audit::AuditEvent {
    let mut e = intentgate::domain::audit::AuditEvent::new(
        intentgate::domain::time::Timestamp::from_unix_seconds(secs),
        "allow",
        "t",
    );
    e.tenant = "acme".into();
    e
}

#[tokio::test]
async fn s78_async_queue_drops_and_counts_on_overflow_then_drains() {
    let (store, writer) = slow_writer(AuditDurability::Async, 2);
    for i in 0..10 {
        writer.record(event(i)).await.unwrap();
    }
    assert!(
        writer.dropped() > 0,
        "a full queue drops instead of blocking"
    );
    writer.shutdown().await;
    let stored = store.range("acme", 1, 100).await.unwrap().len() as u64;
    assert_eq!(
        stored + writer.dropped(),
        10,
        "every event is either stored or counted as dropped"
    );
}

/// A caller that goes away while its commit round waits on the store (a client
/// disconnect drops the request's future) does not abandon the batch: its event is
/// still committed, and the next caller's round follows on the same chain.
#[tokio::test]
async fn a_commit_round_survives_its_caller_going_away() {
    let (store, writer) = slow_writer(AuditDurability::Sync, 16);
    let leader = tokio::spawn({
        let writer = Arc::clone(&writer);
        async move { writer.record(event(1)).await }
    });
    for _ in 0..5 {
        tokio::task::yield_now().await; // the leader's round now waits in append
    }
    let follower = tokio::spawn({
        let writer = Arc::clone(&writer);
        async move { writer.record(event(2)).await }
    });
    tokio::task::yield_now().await;
    leader.abort();
    follower.await.unwrap().unwrap();
    let stored = store.range("acme", 1, 10).await.unwrap();
    let seconds: Vec<i64> = stored
        .iter()
        .map(|r| r.event.ts.unix_nanos() / 1_000_000_000)
        .collect();
    assert_eq!(
        seconds,
        [1, 2],
        "the gone caller's event is committed first"
    );
}

//! §14.8 Audit, and the sync-durability guarantees.

use crate::support::Backend;
use std::sync::Arc;

use async_trait::async_trait;
use intentgate::app::{ApprovalGate, AuditWriter, Durability, Gateway};
use intentgate::domain::approval::{Approval, ApprovalDecision};
use intentgate::domain::audit::{AuditQuery, ChainHead, ChainVerifier, ChainedEvent};
use intentgate::ports::{
    AppendOutcome, ApprovalFilter, ApprovalStore, AuditChainStore, CreateOutcome, DecideOutcome,
    StoreError, StoreResult,
};
use serde_json::json;

use crate::support::{ADMIN_ENV, FakeServer, Reply, TestGateway};

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

/// A fake audit store: `$ty` answers `$own`'s methods (`append` at least) itself and
/// every read through `self.$inner`, the store it wraps.
macro_rules! audit_store_over {
    ($ty:ty, $inner:tt, { $($own:tt)* }) => {
        #[async_trait]
        impl AuditChainStore for $ty {
            $($own)*
            async fn head(&self, chain: &str) -> StoreResult<Option<ChainHead>> {
                self.$inner.head(chain).await
            }
            async fn range(
                &self,
                chain: &str,
                from: u64,
                limit: u32,
            ) -> StoreResult<Vec<ChainedEvent>> {
                self.$inner.range(chain, from, limit).await
            }
            async fn hashes(
                &self,
                chain: &str,
                from: u64,
                limit: u32,
            ) -> StoreResult<Vec<(u64, String)>> {
                self.$inner.hashes(chain, from, limit).await
            }
            async fn query(&self, q: &AuditQuery) -> StoreResult<Vec<ChainedEvent>> {
                self.$inner.query(q).await
            }
            async fn count(&self, q: &AuditQuery) -> StoreResult<u64> {
                self.$inner.count(q).await
            }
            async fn chains(&self) -> StoreResult<Vec<String>> {
                self.$inner.chains().await
            }
        }
    };
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
        Err(driver_error())
    }
    async fn hashes(&self, _: &str, _: u64, _: u32) -> StoreResult<Vec<(u64, String)>> {
        Err(driver_error())
    }
    async fn query(&self, _: &AuditQuery) -> StoreResult<Vec<ChainedEvent>> {
        Err(driver_error())
    }
    async fn count(&self, _: &AuditQuery) -> StoreResult<u64> {
        Err(driver_error())
    }

    async fn chains(&self) -> StoreResult<Vec<String>> {
        Err(driver_error())
    }
}

/// What a driver says when it cannot connect: text an API caller must not see.
fn driver_error() -> StoreError {
    StoreError::Unavailable {
        backend: "test",
        message: "connection to db.internal:5432 refused (user=ig_admin)".into(),
    }
}

/// An approval queue whose store cannot answer.
struct BrokenApprovals;

#[async_trait]
impl ApprovalStore for BrokenApprovals {
    async fn create(&self, _: &Approval) -> StoreResult<CreateOutcome> {
        Err(driver_error())
    }
    async fn get(&self, _: &str) -> StoreResult<Option<Approval>> {
        Err(driver_error())
    }
    async fn decide(&self, _: &str, _: &ApprovalDecision) -> StoreResult<DecideOutcome> {
        Err(driver_error())
    }
    async fn list(&self, _: &ApprovalFilter, _: u32, _: u64) -> StoreResult<Vec<Approval>> {
        Err(driver_error())
    }
}

/// Rebuilds a test gateway's services around a broken audit store and approval store.
fn with_broken_audit(gw: &TestGateway) -> Arc<Gateway> {
    let g = &gw.gateway;
    let (audit, _task) =
        AuditWriter::spawn(Arc::new(BrokenAudit), Durability::Sync, 16, Vec::new());
    let mut stores = g.stores.clone();
    stores.audit = Arc::new(BrokenAudit);
    stores.approvals = Arc::new(BrokenApprovals);
    Arc::new(Gateway {
        stores,
        clock: Arc::clone(&g.clock),
        key: g.key.clone(),
        policy: Arc::clone(&g.policy),
        policy_writes: Default::default(),
        extractor: g.extractor.clone(),
        upstream: g.upstream.clone(),
        audit,
        budgets: Arc::clone(&g.budgets),
        approvals: Some(Arc::new(ApprovalGate::new(
            Arc::new(BrokenApprovals),
            Arc::clone(&g.clock),
            std::time::Duration::from_secs(1),
        ))),
        settings: g.settings.clone(),
        admin: g.admin.clone(),
        policy_label: g.policy_label.clone(),
        metrics_enabled: g.metrics_enabled,
        sessions: Arc::clone(&g.sessions),
        mcp: g.mcp.clone(),
        transparency: Arc::clone(&g.transparency),
        access_tokens: g.access_tokens.clone(),
        verified_tokens: Default::default(),
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

audit_store_over!(SlowAudit, 0, {
    async fn append(&self, records: &[ChainedEvent]) -> StoreResult<AppendOutcome> {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        self.0.append(records).await
    }
});

/// A writer over a [`SlowAudit`] store, without sinks.
fn slow_writer(durability: Durability, capacity: usize) -> (Arc<SlowAudit>, Arc<AuditWriter>) {
    let store = Arc::new(SlowAudit(Default::default()));
    let (writer, _task) = AuditWriter::spawn(store.clone(), durability, capacity, Vec::new());
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
    let (store, writer) = slow_writer(Durability::Async, 2);
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
    let (store, writer) = slow_writer(Durability::Sync, 16);
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

/// An audit store whose appends each wait for a permit the test hands out.
struct GatedAudit {
    inner: intentgate::adapters::memory::MemoryAudit,
    permits: tokio::sync::Semaphore,
    appends: std::sync::atomic::AtomicUsize,
}

audit_store_over!(GatedAudit, inner, {
    async fn append(&self, records: &[ChainedEvent]) -> StoreResult<AppendOutcome> {
        self.appends
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.permits.acquire().await.unwrap().forget();
        self.inner.append(records).await
    }
});

impl GatedAudit {
    /// Waits (for at most five seconds) until `n` appends have started.
    async fn started(&self, n: usize) {
        for _ in 0..500 {
            if self.appends.load(std::sync::atomic::Ordering::SeqCst) >= n {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("append {n} never started");
    }
}

/// A caller whose event another caller's round committed is answered when that round
/// ends, not after a round of its own: the caller that starts a round keeps its turn
/// for it instead of letting go and queueing for the lock again (which left every
/// waiter holding the lock once more, one after the other, each for a round).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_committed_by_another_round_is_answered_when_it_ends() {
    let store = Arc::new(GatedAudit {
        inner: Default::default(),
        permits: tokio::sync::Semaphore::new(0),
        appends: Default::default(),
    });
    let (writer, _task) = AuditWriter::spawn(store.clone(), Durability::Sync, 16, Vec::new());
    let first = queued(&writer, 1).await; // its round now waits in append
    let (second, third) = (queued(&writer, 2).await, queued(&writer, 3).await);
    store.permits.add_permits(1);
    store.started(2).await; // one round for the second and third events
    let fourth = queued(&writer, 4).await;
    store.permits.add_permits(1);
    for caller in [first, second, third] {
        tokio::time::timeout(std::time::Duration::from_secs(5), caller)
            .await
            .expect("answered while the fourth event's round still waits")
            .unwrap()
            .unwrap();
    }
    store.permits.add_permits(1);
    fourth.await.unwrap().unwrap();
    assert_eq!(
        store.appends.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "the second and third events shared a round"
    );
}

/// Records one event on a task of its own, first polling the call once here: when this
/// returns the event is queued and its caller waits for it or for the writer's lock.
async fn queued(
    writer: &Arc<AuditWriter>,
    secs: i64,
) -> tokio::task::JoinHandle<Result<(), intentgate::app::AuditFailure>> {
    use std::task::Poll;
    let writer = Arc::clone(writer);
    let mut call = Box::pin(async move { writer.record(event(secs)).await });
    match std::future::poll_fn(|cx| Poll::Ready(call.as_mut().poll(cx))).await {
        Poll::Ready(done) => tokio::spawn(async move { done }),
        Poll::Pending => tokio::spawn(call),
    }
}

/// Admin routes over stores that cannot answer: 503 with a generic text (the driver's
/// words go to the log), and a decision on a row that could not be read is never a 404.
pub async fn admin_store_failures_are_503_without_driver_text(backend: Backend) {
    let gw = TestGateway::start(backend, &ADMIN_ENV).await;
    let addr = serve_with_broken_audit(&gw).await;
    let client = reqwest::Client::new();
    let decide = r#"{"decision":"approve"}"#;
    for (method, path, token) in [
        ("GET", "/v1/admin/audit", "super"),
        ("GET", "/v1/admin/audit/verify?tenant=acme", "super"),
        ("GET", "/v1/admin/agents", "super"),
        ("GET", "/v1/admin/approvals", "super"),
        ("POST", "/v1/admin/approvals/p-1/decide", "tok-acme"),
        ("POST", "/v1/admin/approvals/p-1/decide", "super"),
    ] {
        let url = format!("http://{addr}{path}");
        let req = match method {
            "GET" => client.get(url),
            _ => client.post(url).body(decide),
        };
        let resp = req.bearer_auth(token).send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        assert_eq!(status, 503, "{method} {path} as {token}: {text}");
        assert!(text.contains("store error"), "{path}: {text}");
        assert!(
            !text.contains("db.internal"),
            "{path} leaks the driver's text: {text}"
        );
    }
}

/// A store that refuses, as Postgres refuses U+0000, any run holding a `poison` tool, and
/// holds its first append long enough for the next events to gather into one round.
struct PoisonRefusing {
    inner: Arc<dyn AuditChainStore>,
    appends: std::sync::atomic::AtomicUsize,
    poisoned_runs: std::sync::Mutex<Vec<usize>>,
}

audit_store_over!(PoisonRefusing, inner, {
    async fn append(&self, run: &[ChainedEvent]) -> StoreResult<AppendOutcome> {
        use std::sync::atomic::Ordering;
        if self.appends.fetch_add(1, Ordering::SeqCst) == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        if run.iter().any(|r| r.event.tool == "poison") {
            self.poisoned_runs.lock().unwrap().push(run.len());
            return Err(StoreError::Backend {
                backend: "test",
                source: "invalid byte sequence for encoding \"UTF8\": 0x00".into(),
            });
        }
        self.inner.append(run).await
    }
});

/// One event the store refuses fails only its own caller: the others in its commit
/// round are committed, acknowledged and verify as one chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_refused_event_fails_only_its_own_caller() {
    use intentgate::domain::audit::AuditEvent;
    let store = Arc::new(PoisonRefusing {
        inner: intentgate::adapters::memory::open().audit,
        appends: std::sync::atomic::AtomicUsize::new(0),
        poisoned_runs: std::sync::Mutex::new(Vec::new()),
    });
    let (writer, _task) = AuditWriter::spawn(
        Arc::clone(&store) as Arc<dyn AuditChainStore>,
        Durability::Sync,
        64,
        Vec::new(),
    );
    let ts = intentgate::domain::time::Timestamp::from_unix_seconds(1_778_580_000);
    let first = {
        let writer = Arc::clone(&writer);
        tokio::spawn(async move { writer.record(AuditEvent::new(ts, "allow", "first")).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(50)).await; // first is appending
    let tools = ["a", "b", "poison", "c", "d"];
    let calls: Vec<_> = tools
        .iter()
        .map(|tool| {
            let writer = Arc::clone(&writer);
            let event = AuditEvent::new(ts, "allow", tool);
            tokio::spawn(async move { writer.record(event).await })
        })
        .collect();
    assert!(first.await.unwrap().is_ok());
    for (tool, call) in tools.iter().zip(calls) {
        let outcome = call.await.unwrap();
        assert_eq!(outcome.is_err(), *tool == "poison", "{tool}: {outcome:?}");
    }
    let runs = store.poisoned_runs.lock().unwrap().clone();
    assert!(
        runs[0] > 1,
        "the poison shared a round with others: {runs:?}"
    );
    let chain = store
        .inner
        .range(intentgate::domain::audit::chain_key(""), 1, 100)
        .await
        .unwrap();
    let mut stored: Vec<&str> = chain.iter().map(|r| r.event.tool.as_str()).collect();
    stored.sort_unstable();
    assert_eq!(stored, ["a", "b", "c", "d", "first"]);
    let mut verifier = ChainVerifier::new(None, None);
    assert!(chain.iter().all(|r| verifier.feed(r)));
}

/// The memory store with another writer in front of it: it extends the chain itself
/// before the first append it is handed, so that append loses the race.
struct RivalAudit {
    inner: Arc<dyn AuditChainStore>,
    appends: std::sync::atomic::AtomicUsize,
    in_turn: std::sync::atomic::AtomicUsize,
}

audit_store_over!(RivalAudit, inner, {
    async fn append(&self, run: &[ChainedEvent]) -> StoreResult<AppendOutcome> {
        use std::sync::atomic::Ordering;
        if self.appends.fetch_add(1, Ordering::SeqCst) == 0 {
            let mut rival = event(1);
            rival.tool = "rival".into();
            let head = self.inner.head(&run[0].chain).await?;
            let chain = &run[0].chain;
            let sealed = intentgate::domain::audit::seal(chain, head.as_ref(), vec![rival]);
            self.inner.append(&sealed).await?;
        }
        self.inner.append(run).await
    }
    async fn append_exclusive(
        &self,
        chain: &str,
        events: &[intentgate::domain::audit::AuditEvent],
    ) -> StoreResult<Vec<ChainedEvent>> {
        self.in_turn
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.append_exclusive(chain, events).await
    }
});

/// A round that loses the race for its chain's head to another writer (a replica) is
/// appended in turn with it, and so are the rounds right after it, without first
/// trying the head the writer knows (each such try would be a refused write while the
/// other writer is busy).
#[tokio::test(start_paused = true)]
async fn after_a_lost_race_rounds_are_appended_in_turn() {
    use std::sync::atomic::Ordering;
    let store = Arc::new(RivalAudit {
        inner: intentgate::adapters::memory::open().audit,
        appends: Default::default(),
        in_turn: Default::default(),
    });
    let (writer, _task) = AuditWriter::spawn(
        Arc::clone(&store) as Arc<dyn AuditChainStore>,
        Durability::Sync,
        16,
        Vec::new(),
    );
    for i in 0..4 {
        writer.record(event(10 + i)).await.unwrap();
    }
    assert_eq!(
        store.appends.load(Ordering::SeqCst),
        1,
        "one optimistic try"
    );
    assert_eq!(
        store.in_turn.load(Ordering::SeqCst),
        4,
        "then every round in turn"
    );
    // A second later the writer tries the head it knows again (and no one races it).
    tokio::time::advance(std::time::Duration::from_millis(1001)).await;
    writer.record(event(20)).await.unwrap();
    assert_eq!(store.appends.load(Ordering::SeqCst), 2);
    assert_eq!(store.in_turn.load(Ordering::SeqCst), 4);
    let chain = store.inner.range("acme", 1, 100).await.unwrap();
    let tools: Vec<&str> = chain.iter().map(|r| r.event.tool.as_str()).collect();
    assert_eq!(tools, ["rival", "t", "t", "t", "t", "t"]);
    let mut verifier = ChainVerifier::new(None, None);
    assert!(chain.iter().all(|r| verifier.feed(r)));
}

//! Whole gateway processes: two replicas on one Postgres, SIGKILL in the middle of
//! traffic on sled and Postgres, outages, and the patched sled's flush. These start
//! the real `intentgate` binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use intentgate::config::DatabaseUrl;
use intentgate::domain::audit::ChainVerifier;
use intentgate::domain::time::Timestamp;
use intentgate::domain::token::{Caveat, MasterKey, TokenClaims, mint, new_token_id};
use intentgate::ports::Stores;

const KEY_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

/// A running gateway process, killed when dropped.
struct Gateway {
    child: Child,
    url: String,
}

impl Gateway {
    async fn start(env: &[(&str, &str)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_intentgate"))
            .env_clear()
            .env("INTENTGATE_ADDR", format!("127.0.0.1:{port}"))
            .env("INTENTGATE_MASTER_KEY", KEY_B64)
            .env("INTENTGATE_AUDIT_TARGET", "none")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        // Owned from here on, so a failed start is killed and reaped by `Drop`.
        let gateway = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..200 {
            if reqwest::get(format!("{}/healthz", gateway.url))
                .await
                .is_ok()
            {
                return gateway;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("gateway did not come up");
    }

    fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL: no graceful shutdown
        let _ = self.child.wait();
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.kill();
    }
}

fn token(max_calls: i64) -> String {
    let key = MasterKey::parse(KEY_B64).unwrap();
    #[allow(clippy::disallowed_methods)] // a real token for a real process needs real time
    let now = Timestamp::from_unix_seconds(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
    );
    let req = TokenClaims {
        subject: "agent-x".into(),
        tenant: "acme".into(),
        expires_at: Some(now.plus_seconds(3600)),
        caveats: vec![Caveat::max_calls(max_calls)],
        ..TokenClaims::default()
    };
    mint(
        &key,
        req,
        new_token_id(now, intentgate::app::random_bytes().unwrap()),
        now,
    )
    .encode()
}

/// Verifies the acme chain and returns the `n` arguments of its allowed events.
async fn verify_acme(stores: &Stores) -> (usize, HashSet<u64>) {
    let records = stores.audit.range("acme", 1, 100_000).await.unwrap();
    let mut verifier = ChainVerifier::new(None, None);
    assert!(
        records.iter().all(|r| verifier.feed(r)),
        "chain must verify"
    );
    let seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
    assert_eq!(
        seqs,
        (1..=records.len() as u64).collect::<Vec<_>>(),
        "chain must be gapless"
    );
    let allowed = records
        .iter()
        .filter(|r| r.event.decision == "allow")
        .filter_map(|r| r.event.arg_values.as_ref()?.get("n")?.as_u64())
        .collect();
    (records.len(), allowed)
}

mod client;

#[path = "../common/pg.rs"]
mod pg;

#[path = "../common/fake.rs"]
mod fake;

mod outage;
mod outage_disk;
mod outage_services;
#[cfg(target_os = "linux")]
mod sled_log;

use client::call;
use pg::TestDatabase as Database;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_on_one_postgres_share_budgets_and_one_chain() {
    let Some(db) = Database::create().await else {
        return;
    };
    let env = [
        ("INTENTGATE_POSTGRES_URL", db.url.as_str()),
        ("INTENTGATE_AUDIT_PERSIST_ARG_VALUES", "raw"),
    ];
    let (a, b) = (Gateway::start(&env).await, Gateway::start(&env).await);
    let token = token(10);
    let client = reqwest::Client::new();
    let calls: Vec<_> = (0..60u64)
        .map(|n| {
            let (client, token) = (client.clone(), token.clone());
            let url = if n % 2 == 0 {
                a.url.clone()
            } else {
                b.url.clone()
            };
            tokio::spawn(async move { call(&client, &url, &token, n).await.unwrap() })
        })
        .collect();
    let mut allowed = 0;
    for c in calls {
        allowed += usize::from(c.await.unwrap());
    }
    assert_eq!(allowed, 10, "exactly max_calls are allowed across replicas");
    let stores = intentgate::adapters::postgres::open(&DatabaseUrl::new(&db.url))
        .await
        .unwrap();
    let (events, allowed_args) = verify_acme(&stores).await;
    assert_eq!(events, 60, "one event per call, on one unforked chain");
    assert_eq!(allowed_args.len(), 10);
}

/// Fires calls at a gateway until it is SIGKILLed (once a few have been answered, so
/// the kill lands mid-traffic however slow the machine); returns the `n`s that were
/// allowed.
async fn traffic_until_killed(gateway: &mut Gateway) -> HashSet<u64> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let token = token(1_000_000);
    let client = reqwest::Client::new();
    let url = gateway.url.clone();
    let answered = std::sync::Arc::new(AtomicUsize::new(0));
    let calls: Vec<_> = (0..400u64)
        .map(|n| {
            let (client, token, url) = (client.clone(), token.clone(), url.clone());
            let answered = std::sync::Arc::clone(&answered);
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(n * 2)).await;
                let r = call(&client, &url, &token, n).await;
                if r == Some(true) {
                    answered.fetch_add(1, Ordering::Relaxed);
                }
                (n, r)
            })
        })
        .collect();
    for _ in 0..1000 {
        if answered.load(Ordering::Relaxed) >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    gateway.kill();
    let mut allowed = HashSet::new();
    for c in calls {
        if let (n, Some(true)) = c.await.unwrap() {
            allowed.insert(n);
        }
    }
    assert!(allowed.len() >= 5, "some calls completed before the kill");
    assert!(allowed.len() < 400, "the kill landed mid-traffic");
    allowed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sled_keeps_every_acknowledged_call_through_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let env = [
        ("INTENTGATE_DATA_DIR", data.as_str()),
        ("INTENTGATE_AUDIT_PERSIST_ARG_VALUES", "raw"),
    ];
    let mut gateway = Gateway::start(&env).await;
    let acknowledged = traffic_until_killed(&mut gateway).await;
    // The gateway starts again on the same data and keeps extending the chain.
    let mut restarted = Gateway::start(&env).await;
    assert_eq!(
        call(&reqwest::Client::new(), &restarted.url, &token(5), 9999).await,
        Some(true)
    );
    restarted.kill();
    let stores = intentgate::adapters::sled::open(&dir.path().join("sled")).unwrap();
    let (_, stored) = verify_acme(&stores).await;
    assert!(
        acknowledged.is_subset(&stored),
        "an allowed call's event survives the kill"
    );
    assert!(
        stored.contains(&9999),
        "the restarted gateway extended the same chain"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_keeps_every_acknowledged_call_through_sigkill() {
    let Some(db) = Database::create().await else {
        return;
    };
    let env = [
        ("INTENTGATE_POSTGRES_URL", db.url.as_str()),
        ("INTENTGATE_AUDIT_PERSIST_ARG_VALUES", "raw"),
    ];
    let mut gateway = Gateway::start(&env).await;
    let acknowledged = traffic_until_killed(&mut gateway).await;
    let stores = intentgate::adapters::postgres::open(&DatabaseUrl::new(&db.url))
        .await
        .unwrap();
    let (_, stored) = verify_acme(&stores).await;
    assert!(
        acknowledged.is_subset(&stored),
        "an allowed call's event survives the kill"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_policy_promoted_through_one_replica_is_enforced_by_the_other_within_a_second() {
    use intentgate::domain::policy::PolicyDraft;
    let Some(db) = Database::create().await else {
        return;
    };
    let env = [("INTENTGATE_POSTGRES_URL", db.url.as_str())];
    let (a, b) = (Gateway::start(&env).await, Gateway::start(&env).await);
    let (client, token) = (reqwest::Client::new(), token(1000));
    assert_eq!(call(&client, &b.url, &token, 1).await, Some(true));
    // What replica A's admin API does on promote: store the draft, move the pointer.
    let stores = intentgate::adapters::postgres::open(&DatabaseUrl::new(&db.url))
        .await
        .unwrap();
    let now = Timestamp::from_unix_seconds(1_778_580_000);
    let draft = PolicyDraft {
        id: "deny0000acme0001".into(),
        name: "acme deny-all".into(),
        description: String::new(),
        rego_source: "package intentgate.policy\nimport rego.v1\ndefault decision := {\"allow\": false, \"reason\": \"acme frozen\"}\n".into(),
        tenant: "acme".into(),
        created_at: now,
        updated_at: now,
        created_by: "ops".into(),
    };
    stores.policies.create_draft(&draft).await.unwrap();
    stores
        .policies
        .promote("acme", &draft.id, "ops", now)
        .await
        .unwrap();
    let promoted = std::time::Instant::now();
    for url in [&b.url, &a.url] {
        while call(&client, url, &token, 2).await != Some(false) {
            assert!(
                promoted.elapsed() < Duration::from_secs(1),
                "replica {url} still allows after 1 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_approval_decided_elsewhere_releases_the_call_waiting_on_this_replica() {
    use intentgate::domain::approval::{ApprovalDecision, ApprovalStatus, ApprovalVerdict};
    use intentgate::ports::{ApprovalFilter, DecideOutcome};
    let Some(db) = Database::create().await else {
        return;
    };
    let policy = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(policy.path(), "package intentgate.policy\nimport rego.v1\ndecision := {\"allow\": false, \"escalate\": true, \"reason\": \"needs human\"}\n").unwrap();
    let path = policy.path().display().to_string();
    let env = [
        ("INTENTGATE_POSTGRES_URL", db.url.as_str()),
        ("INTENTGATE_POLICY_FILE", path.as_str()),
    ];
    let b = Gateway::start(&env).await;
    let (client, token) = (reqwest::Client::new(), token(1000));
    let waiting = tokio::spawn({
        let url = b.url.clone();
        async move { call(&client, &url, &token, 7).await }
    });
    let stores = intentgate::adapters::postgres::open(&DatabaseUrl::new(&db.url))
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let pending_id = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the call never became a pending approval"
        );
        let rows = stores
            .approvals
            .list(&ApprovalFilter::default(), 10, 0)
            .await
            .unwrap();
        if let Some(row) = rows
            .into_iter()
            .find(|r| r.status == ApprovalStatus::Pending)
        {
            break row.pending_id;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // What replica A's admin API does on decide.
    let decision = ApprovalDecision {
        verdict: ApprovalVerdict::Approve,
        decided_by: "alice".into(),
        note: String::new(),
        at: Timestamp::from_unix_seconds(1_778_580_000),
    };
    assert!(matches!(
        stores
            .approvals
            .decide(&pending_id, &decision)
            .await
            .unwrap(),
        DecideOutcome::Decided(_)
    ));
    let decided = std::time::Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(3), waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        outcome,
        Some(true),
        "the waiting call is released and allowed"
    );
    assert!(
        decided.elapsed() < Duration::from_secs(1),
        "released within a second"
    );
}

/// Without the `otel` feature, an OTLP endpoint in the environment is not silently
/// ignored: the gateway says how to get export.
#[cfg(not(feature = "otel"))]
#[test]
fn an_otlp_endpoint_without_the_otel_feature_is_reported() {
    let out = Command::new(env!("CARGO_BIN_EXE_intentgate"))
        .arg("check-config")
        .env_clear()
        .env("INTENTGATE_STORE", "memory")
        .env("INTENTGATE_MASTER_KEY", KEY_B64)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("OTEL_EXPORTER_OTLP_ENDPOINT is set") && stderr.contains("--features otel"),
        "{stderr}"
    );
}

/// The binary allocates with jemalloc, with the decay settings `.cargo/config.toml`
/// compiles in, and on Linux its arena per CPU (ARCHITECTURE.md says why): jemalloc
/// prints its options at exit when asked to, which glibc's malloc ignores. Where this
/// process may run on fewer CPUs than the machine has, jemalloc turns per-CPU arenas off
/// and says so.
#[cfg(unix)]
#[test]
fn the_binary_allocates_with_jemalloc_and_its_settings() {
    let out = Command::new(env!("CARGO_BIN_EXE_intentgate"))
        .arg("--version")
        .env_clear()
        .env("_RJEM_MALLOC_CONF", "stats_print:true")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("opt.dirty_decay_ms: 1000"), "{stderr}");
    assert!(stderr.contains("opt.muzzy_decay_ms: 0"), "{stderr}");
    let per_cpu = cfg!(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )) && !stderr.contains("Per-CPU arena disabled");
    let arenas = match per_cpu {
        true => "opt.percpu_arena: \"percpu\"",
        false => "opt.percpu_arena: \"disabled\"",
    };
    assert!(stderr.contains(arenas), "{stderr}");
}

/// A fresh gateway exports every counter and gauge at 0 (with their label values), so a
/// dashboard has series before the first event and an alert on `increase(…) > 0` sees
/// the first failure. Excepted: SIEM counters (no SIEM sink here), the chain head's age
/// (a fresh chain has no head) and HTTP requests (route × method × status would be
/// hundreds of zero series; it counts from the first request anyway).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_gateway_exports_every_counter_and_gauge_at_zero() {
    use intentgate::instruments::{AUDIT_HEAD_AGE, EXPORTED, HTTP_REQUESTS, Kind, SIEM_EVENTS};
    let gateway = Gateway::start(&[
        ("INTENTGATE_STORE", "memory"),
        ("INTENTGATE_METRICS_ENABLED", "true"),
        ("INTENTGATE_WEBHOOK_URL", "http://127.0.0.1:9/hook"),
        // OAuth counters exist once issuers are configured (this one never answers).
        ("INTENTGATE_OAUTH_ISSUERS", "http://127.0.0.1:9"),
        ("INTENTGATE_OAUTH_RESOURCE", "http://127.0.0.1:8080/v1/mcp"),
    ])
    .await;
    let text = reqwest::get(format!("{}/metrics", gateway.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let excepted = [SIEM_EVENTS, AUDIT_HEAD_AGE, HTTP_REQUESTS];
    for (name, kind) in EXPORTED {
        if *kind == Kind::Histogram || excepted.contains(name) || name.starts_with("process_") {
            continue;
        }
        assert!(
            text.lines()
                .any(|l| l.starts_with(name) && !l.starts_with('#')),
            "{name} is not exported before its first event"
        );
    }
    for line in [
        "intentgate_gateway_audit_failed_total 0",
        "intentgate_gateway_audit_dropped_total 0",
        "intentgate_gateway_approvals_pending 0",
        "intentgate_gateway_oauth_token_failures_total{reason=\"audience\"} 0",
        "intentgate_gateway_store_errors_total{port=\"audit\"} 0",
        "intentgate_gateway_webhook_deliveries_total{outcome=\"failed\"} 0",
        "intentgate_gateway_check_decisions_total{check=\"capability\",decision=\"block\"} 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
}

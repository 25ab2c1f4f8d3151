//! What the verifiable audit's background work costs per record, next to what
//! appending that record costs, in one process and one run on each store: a measure
//! that does not ride on the machine's noise as saturation runs do.
//!
//! Appends go through the audit port in group-commit rounds of 10 (what the audit
//! writer averages under load, `scripts/bench-real.sh`); the tree is then grown over
//! the same records by `Transparency::integrate` and one checkpoint signed. Both are
//! reported as process CPU (user + system) per record, and as wall time.
//!
//! `cargo bench --bench transparency` (Postgres too when
//! `INTENTGATE_TEST_POSTGRES_URL` is set).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark binary

use std::sync::Arc;
use std::time::Instant;

use intentgate::adapters::clock::SystemClock;
use intentgate::adapters::open_stores;
use intentgate::app::Transparency;
use intentgate::config::{AuditDurability, DatabaseUrl, StoreConfig};
use intentgate::domain::audit::checkpoint::LogSigner;
use intentgate::domain::audit::{AuditEvent, chain_key, seal};
use intentgate::domain::time::Timestamp;

const RECORDS: usize = 50_000;
const ROUND: usize = 10;

/// This process's user + system CPU so far, in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    // CLK_TCK is 100 on Linux x86-64.
    ticks / 100.0
}

/// (CPU µs, wall µs) per record of `work`.
async fn per_record<F: std::future::Future<Output = ()>>(work: F) -> (f64, f64) {
    let (cpu, wall) = (cpu_seconds(), Instant::now());
    work.await;
    let per = |s: f64| s * 1e6 / RECORDS as f64;
    (per(cpu_seconds() - cpu), per(wall.elapsed().as_secs_f64()))
}

fn events(round: usize, start: Timestamp) -> Vec<AuditEvent> {
    (0..ROUND)
        .map(|i| {
            let n = (round * ROUND + i) as i64;
            let mut e = AuditEvent::new(start.plus_nanos(n * 1_000_000), "allow", "read_invoice");
            e.tenant = "acme".into();
            e.agent_id = format!("agent-{}", n % 7);
            e.reason = "all four checks passed".into();
            e.arg_keys = vec!["id".into()];
            e
        })
        .collect()
}

async fn measure(name: &str, store: StoreConfig) {
    let stores = open_stores(&store, AuditDurability::Sync).await.unwrap();
    let chain = chain_key("acme");
    let start = Timestamp::parse_rfc3339("2026-05-12T00:00:00Z").unwrap();
    let append = per_record(async {
        let mut head = None;
        for round in 0..RECORDS / ROUND {
            let run = seal(chain, head.as_ref(), events(round, start));
            head = Some(run.last().unwrap().head());
            stores.audit.append(&run).await.unwrap();
        }
    })
    .await;
    let transparency = Transparency::new(
        Arc::clone(&stores.transparency),
        Arc::clone(&stores.audit),
        LogSigner::new("bench", &[1u8; 32]).unwrap(),
        Arc::new(SystemClock),
        Vec::new(),
    );
    let tree = per_record(async {
        let signed = transparency.checkpoint(chain).await.unwrap().unwrap();
        assert_eq!(signed.size, RECORDS as u64);
    })
    .await;
    println!(
        "| {name} | {:.1} / {:.1} | {:.2} / {:.2} | {:.1}% |",
        append.0,
        append.1,
        tree.0,
        tree.1,
        100.0 * tree.0 / append.0
    );
}

/// A fresh database named after this process, from `INTENTGATE_TEST_POSTGRES_URL`.
async fn scratch_database() -> Option<String> {
    use sqlx::Connection;
    let admin = std::env::var("INTENTGATE_TEST_POSTGRES_URL").ok()?;
    let name = format!("ig_bench_tree_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    for sql in [
        format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        format!("CREATE DATABASE \"{name}\""),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    Some(format!("{base}/{name}"))
}

#[tokio::main]
async fn main() {
    println!(
        "{RECORDS} records, appended in rounds of {ROUND}, then the tree grown over them and checkpointed"
    );
    println!();
    println!(
        "| store | append: CPU / wall µs per record | tree: CPU / wall µs per record | tree CPU / append CPU |"
    );
    println!("|---|---|---|---|");
    let memory = StoreConfig::Memory {
        retain_events: 2 * RECORDS,
    };
    measure("memory", memory).await;
    let dir = tempfile::tempdir().unwrap();
    let sled = StoreConfig::Sled {
        data_dir: dir.path().to_path_buf(),
        cache_mib: intentgate::config::DEFAULT_SLED_CACHE_MIB,
    };
    measure("sled", sled).await;
    if let Some(url) = scratch_database().await {
        let postgres = StoreConfig::Postgres {
            url: DatabaseUrl::new(url),
        };
        measure("Postgres", postgres).await;
    }
}

//! Audit export and verification at the reference's 200,000-row cap, against a real
//! `intentgate` process on a sled store: peak RSS before and after (the export must
//! stream, not hold rows), export wall time per format, and chain-verify throughput.
//!
//! `cargo bench --bench export` (seeding 200,000 events takes a few seconds).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark binary

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use intentgate::adapters::open_stores;
use intentgate::config::{AuditDurability, StoreConfig};
use intentgate::domain::audit::{AuditEvent, chain_key, seal};
use intentgate::domain::time::Timestamp;

const EVENTS: usize = 200_000;
const BATCH: usize = 1000;
const TOKEN: &str = "bench-admin";

/// Times reading the whole chain, then verifying it, in this process.
async fn in_process_verify(stores: &intentgate::ports::Stores) {
    let started = Instant::now();
    let mut next = 1;
    loop {
        let page = stores.audit.range("acme", next, 5000).await.unwrap();
        let Some(last) = page.last() else { break };
        next = last.seq + 1;
    }
    let read = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let report = intentgate::app::admin::verify_chain(stores.audit.as_ref(), "acme", None, None)
        .await
        .unwrap();
    let verify = started.elapsed().as_secs_f64();
    assert!(report.ok);
    println!(
        "in-process: read all {EVENTS} records {read:.2} s ({:.0}/s); verify {verify:.2} s ({:.0}/s)",
        EVENTS as f64 / read,
        EVENTS as f64 / verify
    );
}

/// Writes `EVENTS` events for tenant `acme` straight through the audit port.
async fn seed(dir: &std::path::Path) {
    let sled = StoreConfig::Sled {
        data_dir: dir.to_path_buf(),
        cache_mib: intentgate::config::DEFAULT_SLED_CACHE_MIB,
    };
    let stores = open_stores(&sled, AuditDurability::Sync).await.unwrap();
    let chain = chain_key("acme");
    let mut head = None;
    let start = Timestamp::parse_rfc3339("2026-05-12T00:00:00Z").unwrap();
    for b in 0..EVENTS / BATCH {
        let events: Vec<AuditEvent> = (0..BATCH)
            .map(|i| {
                let n = (b * BATCH + i) as i64;
                let mut e =
                    AuditEvent::new(start.plus_nanos(n * 1_000_000), "allow", "read_invoice");
                e.tenant = "acme".into();
                e.agent_id = format!("agent-{}", n % 7);
                e.reason = "all four checks passed".into();
                e.arg_keys = vec!["id".into(), "scope".into()];
                e.latency_ms = n % 13;
                e
            })
            .collect();
        let run = seal(chain, head.as_ref(), events);
        head = Some(run.last().unwrap().head());
        stores.audit.append(&run).await.unwrap();
    }
    in_process_verify(&stores).await;
}

/// VmRSS and VmHWM of a process, in MiB.
fn rss(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap()
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn start_gateway(dir: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_intentgate"))
        .env("INTENTGATE_STORE", "sled")
        .env("INTENTGATE_DATA_DIR", dir)
        .env("INTENTGATE_ADDR", format!("127.0.0.1:{port}"))
        .env("INTENTGATE_ADMIN_TOKEN", TOKEN)
        .env("INTENTGATE_AUDIT_TARGET", "none")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

/// Downloads `path`, counting bytes and lines without keeping the body.
async fn download(client: &reqwest::Client, url: &str) -> (usize, usize, Duration) {
    let started = Instant::now();
    let mut resp = client.get(url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let (mut bytes, mut lines) = (0, 0);
    while let Some(chunk) = resp.chunk().await.unwrap() {
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    (bytes, lines, started.elapsed())
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    seed(dir.path()).await;
    println!(
        "seeded {EVENTS} events in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let port = 18_000 + (std::process::id() % 1000) as u16;
    let mut child = start_gateway(dir.path(), port);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (idle, _) = rss(child.id());
    println!("| step | wall | rows | bytes | RSS after (MiB) | peak RSS so far (MiB) |");
    println!("|---|---|---|---|---|---|");
    println!("| idle after start | | | | {idle:.1} | |");
    for (name, query) in [
        ("export NDJSON", "format=json"),
        ("export CSV", "format=csv"),
    ] {
        let url = format!("{base}/v1/admin/audit/export?tenant=acme&{query}");
        let (bytes, lines, took) = download(&client, &url).await;
        let (now, peak) = rss(child.id());
        println!(
            "| {name} | {:.2} s | {lines} | {bytes} | {now:.1} | {peak:.1} |",
            took.as_secs_f64()
        );
    }
    let started = Instant::now();
    let verify = client
        .get(format!("{base}/v1/admin/audit/verify?tenant=acme"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let took = started.elapsed().as_secs_f64();
    assert!(verify.contains("\"ok\":true"), "{verify}");
    let (now, peak) = rss(child.id());
    println!(
        "| verify chain | {took:.2} s ({:.0} events/s) | {EVENTS} | | {now:.1} | {peak:.1} |",
        EVENTS as f64 / took
    );
    child.kill().unwrap();
    let _ = child.wait();
}

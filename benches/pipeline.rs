//! Data-plane benchmark: the floor (a bare poem JSON echo) against the full
//! `tools/call` pipeline (token verify + revocation + Rego + budget + sync audit, memory
//! store, stub upstream), measured side by side in one run on loopback.
//!
//! `cargo bench --bench pipeline` (or `scripts/bench.sh`). Each server runs on its own
//! 2-worker runtime; the load generator runs on a separate 1-thread runtime, so all
//! share the machine's cores, like wrk would.
//! Reported: saturation throughput with 32 connections, then open-loop latency at fixed
//! rates (latency counted from each request's scheduled send time, so queueing counts).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark binary

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use intentgate::app::{CallOutcome, ToolCall};
use intentgate::bootstrap;
use intentgate::config::Config;
use intentgate::domain::jsonrpc;
use intentgate::domain::time::Timestamp;
use intentgate::domain::token::{Caveat, MasterKey, TokenClaims, mint};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::Json;
use poem::{Route, Server, handler, post};
use serde_json::Value;

const KEY_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
const SATURATION_SECS: u64 = 8;
const RATE_SECS: u64 = 6;
const CONNECTIONS: usize = 32;

#[handler]
fn echo(Json(v): Json<Value>) -> Json<Value> {
    Json(v)
}

/// Runs `serve` on a dedicated 2-worker runtime in its own thread; returns the URL.
fn spawn_server(
    name: &str,
    serve: impl FnOnce(
        tokio::sync::oneshot::Sender<String>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
    + Send
    + 'static,
) -> String {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(serve(tx));
        })
        .unwrap();
    rx.blocking_recv().unwrap()
}

fn floor_server() -> String {
    route_server("floor", "/", || Route::new().at("/", post(echo)))
}

/// A poem server for `route()` on its own runtime; returns the URL of `path`.
fn route_server(name: &str, path: &'static str, route: fn() -> Route) -> String {
    spawn_server(name, move |tx| {
        Box::pin(async move {
            let acceptor = TcpListener::bind("127.0.0.1:0")
                .into_acceptor()
                .await
                .unwrap();
            let addr = *acceptor.local_addr()[0].as_socket_addr().unwrap();
            tx.send(format!("http://{addr}{path}")).unwrap();
            Server::new_with_acceptor(acceptor)
                .run(route())
                .await
                .unwrap();
        })
    })
}

fn gateway_server(store: &'static str, data_dir: String, pg_url: Option<String>) -> String {
    gateway_server_to(store, data_dir, pg_url, None)
}

/// The gateway, forwarding to `upstream` when given (else the stub answers).
fn gateway_server_to(
    store: &'static str,
    data_dir: String,
    pg_url: Option<String>,
    upstream: Option<String>,
) -> String {
    spawn_server("gateway", move |tx| {
        Box::pin(async move {
            let mut vars: HashMap<&str, String> = HashMap::from([
                ("INTENTGATE_STORE", store.to_owned()),
                ("INTENTGATE_MASTER_KEY", KEY_B64.to_owned()),
                ("INTENTGATE_AUDIT_TARGET", "none".to_owned()),
                ("INTENTGATE_AUDIT_DURABILITY", "sync".to_owned()),
                ("INTENTGATE_DATA_DIR", data_dir),
            ]);
            if let Some(url) = pg_url {
                vars.insert("INTENTGATE_POSTGRES_URL", url);
            }
            if let Some(url) = upstream {
                vars.insert("INTENTGATE_UPSTREAM_URL", url);
            }
            let config = Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
            let started = bootstrap::build(&config).await.unwrap();
            let acceptor = bootstrap::bind("127.0.0.1:0").await.unwrap();
            let addr = *acceptor.local_addr()[0].as_socket_addr().unwrap();
            tx.send(format!("http://{addr}/v1/mcp")).unwrap();
            intentgate::adapters::http::serve(acceptor, started.gateway, std::future::pending())
                .await
                .unwrap();
        })
    })
}

/// What both bench upstreams answer to the call (the tool's result).
const RESULT: &str =
    r#"{"content":[{"type":"text","text":"Invoice inv-42: 1240.00 EUR"}],"isError":false}"#;

/// The request's `id`, as raw JSON, from the body the gateway forwarded.
fn request_id(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("id").cloned())
        .map_or_else(|| "null".into(), |id| id.to_string())
}

#[handler]
fn json_tool(body: String) -> poem::Response {
    let answer = format!(
        r#"{{"jsonrpc":"2.0","id":{},"result":{RESULT}}}"#,
        request_id(&body)
    );
    poem::Response::builder()
        .content_type("application/json")
        .body(answer)
}

/// Answers as the Python SDK's server does by default: an event stream with a priming
/// event, then the response event.
#[handler]
fn sse_tool(body: String) -> poem::Response {
    let answer = format!(
        "id: 1\ndata: \n\nid: 2\nevent: message\ndata: {{\"jsonrpc\":\"2.0\",\"id\":{},\"result\":{RESULT}}}\n\n",
        request_id(&body)
    );
    poem::Response::builder()
        .content_type("text/event-stream")
        .header("Cache-Control", "no-cache")
        .body(answer)
}

/// A tool server on its own runtime: `sse` answers with an event stream, else JSON.
fn upstream_server(sse: bool) -> String {
    match sse {
        true => route_server("upstream", "/mcp", || {
            Route::new().at("/mcp", post(sse_tool))
        }),
        false => route_server("upstream", "/mcp", || {
            Route::new().at("/mcp", post(json_tool))
        }),
    }
}

fn token() -> String {
    let key = MasterKey::parse(KEY_B64).unwrap();
    let now = Timestamp::from_unix_seconds(time_now());
    let req = TokenClaims {
        subject: "bench-agent".into(),
        tenant: "bench".into(),
        expires_at: Some(now.plus_seconds(86_400)),
        caveats: vec![
            Caveat::tool_allow(vec!["read_invoice".into()]),
            Caveat::max_calls(1_000_000_000),
        ],
        ..TokenClaims::default()
    };
    mint(&key, req, "benchjti0000000000000".into(), now).encode()
}

#[allow(clippy::disallowed_methods)] // the benchmark needs real time for the token
fn time_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

struct Target {
    url: String,
    auth: Option<String>,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap()
}

const BODY: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_invoice","arguments":{"id":"inv-42","amount":1240}}}"#;

async fn send(client: &reqwest::Client, t: &Target) -> bool {
    let mut req = client.post(&t.url).body(BODY);
    if let Some(a) = &t.auth {
        req = req.header("Authorization", a);
    }
    match req.send().await {
        Ok(resp) => resp
            .bytes()
            .await
            .map(|b| !b.windows(7).any(|w| w == b"\"error\""))
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// Closed loop: `CONNECTIONS` workers send back to back; returns requests per second.
async fn saturation(t: Arc<Target>) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + Duration::from_secs(SATURATION_SECS);
    let client = client();
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (t, done, failed, client) = (
                Arc::clone(&t),
                Arc::clone(&done),
                Arc::clone(&failed),
                client.clone(),
            );
            tokio::spawn(async move {
                while Instant::now() < end {
                    let ok = send(&client, &t).await;
                    done.fetch_add(1, Ordering::Relaxed);
                    failed.fetch_add(u64::from(!ok), Ordering::Relaxed);
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "every request must succeed"
    );
    done.load(Ordering::Relaxed) as f64 / SATURATION_SECS as f64
}

/// Open loop at `rate` req/s; returns (p50, p99, failed) with latencies in microseconds. Requests are
/// dispatched on 1 ms ticks (tokio's timer resolution): every request due by the tick
/// is sent then, and latency counts from its dispatch, so a slow server cannot slow the
/// sender down (no coordinated omission) and timer granularity does not count.
async fn fixed_rate(t: Arc<Target>, rate: u64) -> (u64, u64, u64) {
    let client = client();
    let start = Instant::now();
    let total = rate * RATE_SECS;
    let mut handles = Vec::with_capacity(total as usize);
    let mut ticker = tokio::time::interval(Duration::from_millis(1));
    let mut sent = 0u64;
    while sent < total {
        ticker.tick().await;
        let due = ((start.elapsed().as_nanos() as u64) * rate / 1_000_000_000).min(total);
        for _ in sent..due {
            let (t, client) = (Arc::clone(&t), client.clone());
            let dispatched = Instant::now();
            handles.push(tokio::spawn(async move {
                let ok = send(&client, &t).await;
                (ok, dispatched.elapsed().as_micros() as u64)
            }));
        }
        sent = sent.max(due);
    }
    let mut lat = Vec::with_capacity(handles.len());
    let mut failed = 0;
    for h in handles {
        let (ok, us) = h.await.unwrap();
        failed += u64::from(!ok);
        lat.push(us);
    }
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    (pct(0.50), pct(0.99), failed)
}

/// CPU cost of the pipeline alone (no HTTP): sequential `tools_call`s in-process.
fn in_process_cost(store: &str, data_dir: &str, pg_url: Option<String>) -> f64 {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut vars: HashMap<&str, String> = HashMap::from([
            ("INTENTGATE_STORE", store.to_owned()),
            ("INTENTGATE_MASTER_KEY", KEY_B64.to_owned()),
            ("INTENTGATE_AUDIT_TARGET", "none".to_owned()),
            ("INTENTGATE_DATA_DIR", data_dir.to_owned()),
        ]);
        if let Some(url) = pg_url {
            vars.insert("INTENTGATE_POSTGRES_URL", url);
        }
        let config = Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
        let gateway = bootstrap::build(&config).await.unwrap().gateway;
        let request = jsonrpc::Request::parse(BODY.as_bytes()).unwrap();
        let call = ToolCall {
            params: jsonrpc::parse_tool_call(request.params.as_deref()).unwrap(),
            forward_body: request.forward_body(),
            is_notification: false,
            authorization: Some(format!("Bearer {}", token())),
            verified_caller: None,
            intent_prompt: None,
            remote_addr: "127.0.0.1:1".into(),
            started: Instant::now(),
            session_id: String::new(),
            upstream_headers: Default::default(),
            interim: None,
        };
        let n = if store == "memory" { 50_000 } else { 2_000 };
        let started = Instant::now();
        // On a worker thread, where request handlers run: driven from `block_on`'s
        // thread, every audit commit round spawned per call would be a cross-thread
        // hand-off that the server never pays.
        tokio::spawn(async move {
            for _ in 0..n {
                assert!(matches!(
                    gateway.tools_call(&call).await,
                    CallOutcome::Stub { .. }
                ));
            }
        })
        .await
        .unwrap();
        started.elapsed().as_secs_f64() * 1e6 / f64::from(n)
    })
}

/// A fresh database for the Postgres run, from `INTENTGATE_TEST_POSTGRES_URL`. It is
/// named after the process and dropped by the next run (a bench process ends without
/// unwinding the gateway threads that hold connections to it).
fn bench_database() -> Option<String> {
    use sqlx::Connection;
    let admin = std::env::var("INTENTGATE_TEST_POSTGRES_URL").ok()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let name = format!("ig_bench_{}", std::process::id());
    rt.block_on(async {
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        sqlx::query(sqlx::AssertSqlSafe(drop))
            .execute(&mut conn)
            .await
            .unwrap();
        let create = format!("CREATE DATABASE \"{name}\"");
        sqlx::query(sqlx::AssertSqlSafe(create))
            .execute(&mut conn)
            .await
            .unwrap();
    });
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(b, _)| b)
        .to_owned();
    Some(format!("{base}/{name}"))
}

/// `-- --transport`: the gateway (memory store) forwarding to a JSON-answering and to
/// an event-stream-answering tool server, each also called directly, in one run. The
/// difference between the two gateway columns is what reading an event stream adds.
fn transport_comparison() {
    let dir = std::env::temp_dir().join(format!("intentgate-bench-t-{}", std::process::id()));
    let auth = Some(format!("Bearer {}", token()));
    let (json_up, sse_up) = (upstream_server(false), upstream_server(true));
    let gateway = |up: &str, sub: &str| {
        let data = dir.join(sub).display().to_string();
        gateway_server_to("memory", data, None, Some(up.to_owned()))
    };
    let targets = vec![
        (
            "JSON upstream, direct",
            Arc::new(Target {
                url: json_up.clone(),
                auth: None,
            }),
        ),
        (
            "SSE upstream, direct",
            Arc::new(Target {
                url: sse_up.clone(),
                auth: None,
            }),
        ),
        (
            "gateway → JSON upstream",
            Arc::new(Target {
                url: gateway(&json_up, "j"),
                auth: auth.clone(),
            }),
        ),
        (
            "gateway → SSE upstream",
            Arc::new(Target {
                url: gateway(&sse_up, "s"),
                auth,
            }),
        ),
    ];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for (_, t) in &targets {
            let c = client();
            for _ in 0..2000 {
                assert!(send(&c, t).await);
            }
        }
        println!(
            "| measurement | {} |",
            targets
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(" | ")
        );
        println!("|---|{}", "---|".repeat(targets.len()));
        let mut rps = Vec::new();
        for (_, t) in &targets {
            rps.push(saturation(Arc::clone(t)).await);
        }
        let cells: Vec<String> = rps.iter().map(|r| format!("{r:.0} req/s")).collect();
        println!(
            "| saturation, {CONNECTIONS} connections | {} |",
            cells.join(" | ")
        );
        let mut medians = Vec::new();
        for rate in [1000, 2000] {
            let mut cells = Vec::new();
            for (_, t) in &targets {
                let (p50, p99, failed) = fixed_rate(Arc::clone(t), rate).await;
                let note = if failed > 0 {
                    format!(" ({failed} failed)")
                } else {
                    String::new()
                };
                cells.push(format!("{p50} / {p99} µs{note}"));
                medians.push((rate, p50, p99));
            }
            println!("| {rate} req/s p50 / p99 | {} |", cells.join(" | "));
        }
        let per_call = |r: f64| 1e6 / r;
        println!(
            "\nevent stream instead of JSON: gateway {:+.1} µs per call at saturation \
             ({:.0} → {:.0} req/s), upstream alone {:+.1} µs",
            per_call(rps[3]) - per_call(rps[2]),
            rps[2],
            rps[3],
            per_call(rps[1]) - per_call(rps[0]),
        );
        for chunk in medians.chunks(4) {
            let (rate, _, _) = chunk[0];
            println!(
                "at {rate} req/s: p50 {:+} µs, p99 {:+} µs (gateway, SSE − JSON)",
                chunk[3].1 as i64 - chunk[2].1 as i64,
                chunk[3].2 as i64 - chunk[2].2 as i64,
            );
        }
    });
    let _ = std::fs::remove_dir_all(dir);
}

fn main() {
    if std::env::args().any(|a| a == "--transport") {
        transport_comparison();
        return;
    }
    if std::env::args().any(|a| a == "--in-process") {
        let dir = std::env::temp_dir().join(format!("intentgate-bench-ip-{}", std::process::id()));
        let dir = |s: &str| dir.join(s).display().to_string();
        let memory = in_process_cost("memory", &dir("m"), None);
        println!("in-process, sequential, memory: {memory:.1} µs per call");
        let sled = in_process_cost("sled", &dir("s"), None);
        println!("in-process, sequential, sled: {sled:.1} µs per call");
        if let Some(url) = bench_database() {
            let pg = in_process_cost("postgres", &dir("p"), Some(url));
            println!("in-process, sequential, postgres: {pg:.1} µs per call");
        }
        return;
    }
    let dir = std::env::temp_dir().join(format!("intentgate-bench-{}", std::process::id()));
    let auth = Some(format!("Bearer {}", token()));
    let floor = Arc::new(Target {
        url: floor_server(),
        auth: None,
    });
    let mut backends = vec![
        (
            "memory",
            Arc::new(Target {
                url: gateway_server("memory", dir.join("m").display().to_string(), None),
                auth: auth.clone(),
            }),
        ),
        (
            "sled",
            Arc::new(Target {
                url: gateway_server("sled", dir.join("s").display().to_string(), None),
                auth: auth.clone(),
            }),
        ),
    ];
    match bench_database() {
        Some(url) => backends.push((
            "postgres",
            Arc::new(Target {
                url: gateway_server("postgres", dir.join("p").display().to_string(), Some(url)),
                auth,
            }),
        )),
        None => eprintln!("postgres skipped: set INTENTGATE_TEST_POSTGRES_URL"),
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for t in std::iter::once(&floor).chain(backends.iter().map(|(_, t)| t)) {
            let c = client();
            for _ in 0..2000 {
                assert!(send(&c, t).await);
            }
        }
        let floor_rps = saturation(Arc::clone(&floor)).await;
        println!(
            "| measurement | floor (poem echo) | {} |",
            backends
                .iter()
                .map(|(n, _)| format!("pipeline, {n}"))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        println!("|---|---|{}", "---|".repeat(backends.len()));
        let mut row = format!("| saturation, {CONNECTIONS} connections | {floor_rps:.0} req/s |");
        for (_, t) in &backends {
            let rps = saturation(Arc::clone(t)).await;
            row.push_str(&format!(
                " {rps:.0} req/s ({:.0}%) |",
                100.0 * rps / floor_rps
            ));
        }
        println!("{row}");
        for rate in [1000, 2000, 5000] {
            let (f50, f99, _) = fixed_rate(Arc::clone(&floor), rate).await;
            let mut row = format!("| {rate} req/s p50 / p99 | {f50} / {f99} µs |");
            for (_, t) in &backends {
                let (p50, p99, failed) = fixed_rate(Arc::clone(t), rate).await;
                let note = if failed > 0 {
                    format!(" ({failed} failed)")
                } else {
                    String::new()
                };
                row.push_str(&format!(" {p50} / {p99} µs{note} |"));
            }
            println!("{row}");
        }
    });
    let _ = std::fs::remove_dir_all(dir);
}

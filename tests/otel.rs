//! OpenTelemetry export (feature `otel`): the real binary, pointed at a fake OTLP/HTTP
//! collector, sends the request span there. `cargo test --features otel --test otel`.

#![cfg(feature = "otel")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request as the collector saw it: head (request line and headers) and body.
#[derive(Clone, Debug)]
struct Seen {
    head: String,
    body: Vec<u8>,
}

/// Accepts OTLP/HTTP posts and answers 200 with an empty protobuf body.
async fn fake_collector() -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let store = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                while let Some(request) = read_request(&mut conn).await {
                    store.lock().unwrap().push(request);
                    let reply = "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
                    if conn.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, seen)
}

async fn read_request(conn: &mut tokio::net::TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap());
    while buf.len() < head_end + length {
        let n = conn.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(Seen {
        head,
        body: buf[head_end..head_end + length].to_vec(),
    })
}

struct Gateway(Child);

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn request_spans_reach_the_otlp_collector() {
    let (collector, seen) = fake_collector().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gateway = Gateway(
        Command::new(env!("CARGO_BIN_EXE_intentgate"))
            .env_clear()
            .env("INTENTGATE_ADDR", format!("127.0.0.1:{port}"))
            .env("INTENTGATE_STORE", "memory")
            .env(
                "INTENTGATE_MASTER_KEY",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
            )
            .env("INTENTGATE_AUDIT_TARGET", "none")
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", &collector)
            .env("OTEL_BSP_SCHEDULE_DELAY", "100")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    let health = format!("http://127.0.0.1:{port}/healthz");
    let mut up = false;
    for _ in 0..200 {
        if client.get(&health).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(up, "gateway did not come up");
    let probe = format!("http://127.0.0.1:{port}/otel-probe-path");
    assert_eq!(client.get(&probe).send().await.unwrap().status(), 404);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let export = loop {
        let found = seen
            .lock()
            .unwrap()
            .iter()
            .find(|s| contains(&s.body, "/otel-probe-path"))
            .cloned();
        if let Some(export) = found {
            break export;
        }
        assert!(tokio::time::Instant::now() < deadline, "no span exported");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    drop(gateway);
    assert!(
        export.head.starts_with("post /v1/traces "),
        "{}",
        export.head
    );
    assert!(
        export.head.contains("content-type: application/x-protobuf"),
        "{}",
        export.head
    );
    assert!(contains(&export.body, "intentgate-gateway"), "service name");
    assert!(contains(&export.body, "request"), "span name");
    // Fields recorded after the span opened are kept for exported spans (the gateway
    // skips recording them when nobody reads them).
    assert!(contains(&export.body, "status"), "the status field");
    assert!(
        contains(&export.body, "remote"),
        "the client's address field"
    );
    assert!(contains(&export.body, "127.0.0.1:"), "the client's address");
}

//! SIEM forwarders: exact requests per destination, batching, failure accounting,
//! overflow, shutdown, and settings from the environment.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;

use intentgate::adapters::clock::SystemClock;
use intentgate::adapters::siem;
use intentgate::config::Secret;
use intentgate::config::siem::{
    BatchSettings, DatadogSettings, SentinelSettings, SiemSettings, SplunkSettings,
};
use intentgate::domain::audit::AuditEvent;
use intentgate::domain::audit::checkpoint::{LogSigner, open};
use intentgate::domain::audit::merkle::Hash;
use intentgate::domain::time::Timestamp;
use intentgate::ports::{Clock, EventSink, SinkStatus};
use serde_json::Value;

use crate::fake::{FakeServer, Reply};

mod batching;
mod datadog;
mod sentinel;
mod settings;
mod splunk;

/// 1747044001.5 seconds after the epoch.
const TS: &str = "2025-05-12T10:00:01.5Z";
/// An interval that never ticks during a test: only size and shutdown flush.
const NEVER: u64 = 60_000;
/// The wire JSON of `event("transfer_funds", "block")`, written out to pin the bytes.
const BLOCKED_JSON: &str = r#"{"ts":"2025-05-12T10:00:01.5Z","event":"intentgate.tool_call","schema_version":"6","decision":"block","check":"policy","reason":"above \u003cthreshold\u003e","agent_id":"finance-bot","tool":"transfer_funds","latency_ms":0}"#;

fn ts() -> Timestamp {
    Timestamp::parse_rfc3339(TS).unwrap()
}

fn event(tool: &str, decision: &str) -> AuditEvent {
    let mut e = AuditEvent::new(ts(), decision, tool);
    e.check = "policy".into();
    e.agent_id = "finance-bot".into();
    e.reason = "above <threshold>".into();
    e
}

fn events(n: usize) -> Vec<AuditEvent> {
    (0..n)
        .map(|i| event(&format!("tool_{i}"), "allow"))
        .collect()
}

fn batch(capacity: usize, max_batch: usize, interval_ms: u64) -> BatchSettings {
    BatchSettings {
        capacity,
        max_batch,
        interval: Duration::from_millis(interval_ms),
        flush_timeout: Duration::from_secs(5),
    }
}

fn splunk_settings(receiver: &FakeServer, batch: BatchSettings) -> SiemSettings {
    SiemSettings {
        splunk: Some(SplunkSettings {
            url: format!("{}/services/collector", receiver.url),
            token: Secret::new("hec-token"),
            index: None,
        }),
        batch,
        ..SiemSettings::default()
    }
}

/// Starts the one sink `settings` configure.
fn start_with(settings: &SiemSettings, clock: Arc<dyn Clock>) -> Arc<dyn EventSink> {
    let mut sinks = siem::spawn(settings, clock).unwrap();
    assert_eq!(sinks.len(), 1);
    sinks.pop().unwrap()
}

fn start(settings: &SiemSettings) -> Arc<dyn EventSink> {
    start_with(settings, Arc::new(SystemClock))
}

/// Polls the sink's status (up to 5 s) until `done` holds, and returns it.
async fn wait_status(sink: &dyn EventSink, done: impl Fn(&SinkStatus) -> bool) -> SinkStatus {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let status = sink.status();
        if done(&status) {
            return status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "status never got there: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The `tool` of every HEC envelope in an NDJSON body, in order.
fn hec_tools(body: &str) -> Vec<String> {
    assert!(body.ends_with('\n'), "{body:?}");
    body.lines()
        .map(|line| {
            let envelope: Value = serde_json::from_str(line).unwrap();
            envelope["event"]["tool"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}_{i}")).collect()
}

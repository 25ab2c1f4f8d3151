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
use intentgate::domain::time::Timestamp;
use intentgate::ports::{Clock, EventSink, SinkStatus};
use serde_json::Value;

use crate::fake::{FakeServer, Reply};

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

// ---------------------------------------------------------------- Splunk

#[tokio::test]
async fn splunk_posts_hec_envelopes_with_its_token_and_index() {
    let hec = FakeServer::accepting().await;
    let mut settings = splunk_settings(&hec, batch(64, 2, NEVER));
    settings.splunk.as_mut().unwrap().index = Some("security".into());
    let sink = start(&settings);
    let blocked = event("transfer_funds", "block");
    let mut later = event("read_invoice", "allow");
    later.ts = Timestamp::parse_rfc3339("2025-05-12T10:00:02Z").unwrap();
    assert_eq!(blocked.to_json(), BLOCKED_JSON);

    sink.offer(&blocked);
    sink.offer(&later);
    let seen = hec.wait_for(1).await;

    let request = &seen[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/services/collector");
    assert_eq!(request.header("authorization"), "Splunk hec-token");
    assert_eq!(request.header("content-type"), "application/json");
    let head = r#""source":"intentgate","sourcetype":"_json","index":"security","event":"#;
    let expected = format!(
        "{{\"time\":1747044001.5,{head}{BLOCKED_JSON}}}\n{{\"time\":1747044002,{head}{}}}\n",
        later.to_json()
    );
    assert_eq!(request.body, expected);

    let status = wait_status(&*sink, |s| s.total_events == 2).await;
    assert_eq!(
        status,
        SinkStatus {
            name: "splunk",
            endpoint: format!("{}/services/collector", hec.url),
            last_flush: status.last_flush,
            total_events: 2,
            dropped_count: 0,
            undelivered: 0,
            last_error: String::new(),
        }
    );
    assert!(status.last_flush.is_some());
    assert_eq!(hec.requests().len(), 1);
}

#[tokio::test]
async fn splunk_leaves_an_unset_index_out() {
    let hec = FakeServer::accepting().await;
    let sink = start(&splunk_settings(&hec, batch(64, 1, NEVER)));
    let e = event("transfer_funds", "block");

    sink.offer(&e);
    let seen = hec.wait_for(1).await;

    assert_eq!(
        seen[0].body,
        format!(
            "{{\"time\":1747044001.5,\"source\":\"intentgate\",\"sourcetype\":\"_json\",\"event\":{BLOCKED_JSON}}}\n"
        )
    );
}

// ---------------------------------------------------------------- Datadog

#[tokio::test]
async fn datadog_posts_an_array_of_log_entries_with_its_api_key() {
    let intake = FakeServer::start(|_| Reply::new(202, "{}")).await;
    let mut dd = DatadogSettings::new(Secret::new("dd-key"), "datadoghq.eu", "ig-test");
    assert_eq!(
        dd.intake_url,
        "https://http-intake.logs.datadoghq.eu/api/v2/logs"
    );
    dd.intake_url = format!("{}/api/v2/logs", intake.url);
    let settings = SiemSettings {
        datadog: Some(dd),
        batch: batch(64, 2, NEVER),
        ..SiemSettings::default()
    };
    let sink = start(&settings);
    let blocked = event("transfer_funds", "block");
    let anonymous = AuditEvent::new(ts(), "allow", "read_invoice");

    sink.offer(&blocked);
    sink.offer(&anonymous);
    let seen = intake.wait_for(1).await;

    let request = &seen[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/api/v2/logs");
    assert_eq!(request.header("dd-api-key"), "dd-key");
    assert_eq!(request.header("content-type"), "application/json");
    let anonymous_json = anonymous.to_json();
    let expected = [
        r#"[{"service":"ig-test","ddsource":"intentgate","message":"block policy tool=transfer_funds agent=finance-bot reason=above \u003cthreshold\u003e","status":"warn","audit":"#,
        BLOCKED_JSON,
        r#"},{"service":"ig-test","ddsource":"intentgate","message":"allow  tool=read_invoice agent=(unknown) reason=","status":"info","audit":"#,
        anonymous_json.as_str(),
        "}]\n",
    ]
    .concat();
    assert_eq!(request.body, expected);
    let parsed: Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(
        parsed[0]["message"],
        "block policy tool=transfer_funds agent=finance-bot reason=above <threshold>"
    );
    assert_eq!(parsed[1]["audit"]["tool"], "read_invoice");

    let status = wait_status(&*sink, |s| s.total_events == 2).await;
    assert_eq!(status.name, "datadog");
    assert_eq!(status.endpoint, format!("{}/api/v2/logs", intake.url));
    assert_eq!(status.last_error, "");
}

// ---------------------------------------------------------------- Sentinel

/// The token request body for client `client-1` with secret `p@ss word/+&=`.
const TOKEN_FORM: &str = "client_id=client-1&client_secret=p%40ss+word%2F%2B%26%3D&grant_type=client_credentials&scope=https%3A%2F%2Fmonitor.azure.com%2F%2F.default";
const INGEST_PATH: &str = "/dataCollectionRules/dcr-0123abcd/streams/Custom-IntentGate_CL";
const TOKEN_PATH: &str = "/tenant-1/oauth2/v2.0/token";

/// A fake Azure: the token endpoint hands out `tok-1`, `tok-2`, … valid for an hour;
/// the n-th ingestion call (from 0) gets `ingest(n)`.
async fn fake_azure(ingest: impl Fn(usize) -> Reply + Send + Sync + 'static) -> FakeServer {
    let (tokens, ingests) = (AtomicUsize::new(0), AtomicUsize::new(0));
    FakeServer::start(move |seen| {
        if seen.path == TOKEN_PATH {
            let n = tokens.fetch_add(1, Ordering::SeqCst) + 1;
            let body =
                format!(r#"{{"token_type":"Bearer","expires_in":3600,"access_token":"tok-{n}"}}"#);
            Reply::new(200, &body)
        } else {
            ingest(ingests.fetch_add(1, Ordering::SeqCst))
        }
    })
    .await
}

fn sentinel_settings(azure: &FakeServer, batch: BatchSettings) -> SiemSettings {
    let mut sentinel = SentinelSettings::new(
        azure.url.clone(),
        "dcr-0123abcd",
        "Custom-IntentGate_CL",
        "tenant-1",
        "client-1",
        Secret::new("p@ss word/+&="),
    );
    assert_eq!(
        sentinel.token_url,
        "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token"
    );
    assert_eq!(
        sentinel.ingest_url,
        format!("{}{INGEST_PATH}?api-version=2023-01-01", azure.url)
    );
    sentinel.token_url = format!("{}{TOKEN_PATH}", azure.url);
    SiemSettings {
        sentinel: Some(sentinel),
        batch,
        ..SiemSettings::default()
    }
}

fn assert_token_request(seen: &crate::fake::Seen) {
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path, TOKEN_PATH);
    assert_eq!(
        seen.header("content-type"),
        "application/x-www-form-urlencoded"
    );
    assert_eq!(seen.body, TOKEN_FORM);
}

fn assert_ingest(seen: &crate::fake::Seen, token: &str, event: &AuditEvent) {
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path, INGEST_PATH);
    assert_eq!(seen.query, "api-version=2023-01-01");
    assert_eq!(seen.header("authorization"), format!("Bearer {token}"));
    assert_eq!(seen.header("content-type"), "application/json");
    assert_eq!(seen.body, format!("[{}]", event.to_json()));
}

#[tokio::test]
async fn sentinel_authenticates_lazily_and_reuses_its_token() {
    let azure = fake_azure(|_| Reply::new(204, "")).await;
    let sink = start(&sentinel_settings(&azure, batch(64, 1, NEVER)));
    let (first, second) = (event("tool_a", "allow"), event("tool_b", "block"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        azure.requests().is_empty(),
        "no token before the first flush"
    );

    sink.offer(&first);
    azure.wait_for(2).await;
    sink.offer(&second);
    wait_status(&*sink, |s| s.total_events == 2).await;

    let seen = azure.requests();
    assert_eq!(seen.len(), 3, "{seen:#?}");
    assert_token_request(&seen[0]);
    assert_ingest(&seen[1], "tok-1", &first);
    assert_ingest(&seen[2], "tok-1", &second);
    let status = sink.status();
    assert_eq!(status.name, "sentinel");
    assert_eq!(status.endpoint, azure.url);
    assert_eq!((status.dropped_count, status.last_error.as_str()), (0, ""));
}

#[tokio::test]
async fn sentinel_authenticates_again_after_a_401() {
    let azure = fake_azure(|n| match n {
        0 => Reply::new(401, r#"{"error":"InvalidToken"}"#),
        _ => Reply::new(204, ""),
    })
    .await;
    let sink = start(&sentinel_settings(&azure, batch(64, 1, NEVER)));
    let (first, second) = (event("tool_a", "allow"), event("tool_b", "allow"));

    sink.offer(&first);
    let status = wait_status(&*sink, |s| !s.last_error.is_empty()).await;
    assert_eq!(
        status.last_error,
        r#"permanent: HTTP 401: {"error":"InvalidToken"}"#
    );
    assert_eq!(status.total_events, 0);
    assert_eq!(status.dropped_count, 0, "a failed flush is no buffer drop");
    sink.offer(&second);
    let status = wait_status(&*sink, |s| s.total_events == 1).await;

    assert_eq!((status.dropped_count, status.last_error.as_str()), (0, ""));
    let seen = azure.requests();
    assert_eq!(seen.len(), 4, "{seen:#?}");
    assert_token_request(&seen[0]);
    assert_ingest(&seen[1], "tok-1", &first);
    assert_token_request(&seen[2]);
    assert_ingest(&seen[3], "tok-2", &second);
}

/// A clock the test moves by hand.
struct ManualClock(AtomicI64);

impl ManualClock {
    fn advance_secs(&self, secs: i64) {
        self.0.fetch_add(secs * 1_000_000_000, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_nanos(self.0.load(Ordering::SeqCst))
    }
}

#[tokio::test]
async fn sentinel_renews_its_token_five_minutes_before_expiry() {
    let azure = fake_azure(|_| Reply::new(204, "")).await;
    let clock = Arc::new(ManualClock(AtomicI64::new(ts().unix_nanos())));
    let sink = start_with(
        &sentinel_settings(&azure, batch(64, 1, NEVER)),
        Arc::clone(&clock) as Arc<dyn Clock>,
    );
    let [a, b, c] = [
        event("a", "allow"),
        event("b", "allow"),
        event("c", "allow"),
    ];

    sink.offer(&a);
    azure.wait_for(2).await;
    clock.advance_secs(3299); // the token (3600 s) is still good for 301 s
    sink.offer(&b);
    azure.wait_for(3).await;
    clock.advance_secs(1); // 300 s left: renew
    sink.offer(&c);
    let seen = azure.wait_for(5).await;

    assert_eq!(seen.len(), 5, "{seen:#?}");
    assert_token_request(&seen[0]);
    assert_ingest(&seen[1], "tok-1", &a);
    assert_ingest(&seen[2], "tok-1", &b);
    assert_token_request(&seen[3]);
    assert_ingest(&seen[4], "tok-2", &c);
}

#[tokio::test]
async fn a_failed_token_request_fails_the_flush() {
    let azure = FakeServer::start(|_| Reply::new(400, r#"{"error":"invalid_client"}"#)).await;
    let sink = start(&sentinel_settings(&azure, batch(64, 1, NEVER)));

    sink.offer(&event("a", "allow"));
    let status = wait_status(&*sink, |s| !s.last_error.is_empty()).await;

    assert_eq!(
        status.last_error,
        r#"permanent: token endpoint: HTTP 400: {"error":"invalid_client"}"#
    );
    assert!(!status.last_error.contains("p@ss"));
    assert_eq!(azure.requests().len(), 1, "no ingestion without a token");
}

// ---------------------------------------------------------------- batching

#[tokio::test]
async fn a_full_batch_is_flushed_at_once() {
    let hec = FakeServer::accepting().await;
    let sink = start(&splunk_settings(&hec, batch(64, 3, NEVER)));

    for e in events(4) {
        sink.offer(&e);
    }
    let seen = hec.wait_for(1).await;
    wait_status(&*sink, |s| s.total_events == 3).await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    assert_eq!(hec_tools(&seen[0].body), names("tool", 3));
    assert_eq!(hec.requests().len(), 1, "the fourth event waits");
    sink.shutdown().await;
    let seen = hec.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(hec_tools(&seen[1].body), vec!["tool_3".to_owned()]);
    assert_eq!(sink.status().total_events, 4);
}

#[tokio::test]
async fn the_interval_flushes_a_partial_batch_and_skips_empty_ones() {
    let hec = FakeServer::accepting().await;
    let sink = start(&splunk_settings(&hec, batch(64, 100, 50)));

    for e in events(3) {
        sink.offer(&e);
    }
    let seen = hec.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    assert_eq!(hec_tools(&seen[0].body), names("tool", 3));
    assert_eq!(hec.requests().len(), 1, "empty ticks send nothing");
    assert_eq!(sink.status().total_events, 3);
}

#[tokio::test]
async fn failed_flushes_drop_their_batch_and_a_success_clears_the_error() {
    let calls = AtomicUsize::new(0);
    let hec = FakeServer::start(move |_| match calls.fetch_add(1, Ordering::SeqCst) {
        0 => Reply::new(500, "boom"),
        1 => Reply::ok(),
        2 => Reply::new(429, ""),
        _ => Reply::new(400, &"y".repeat(300)),
    })
    .await;
    let sink = start(&splunk_settings(&hec, batch(64, 2, NEVER)));
    let offer_two = || {
        for e in events(2) {
            sink.offer(&e);
        }
    };

    offer_two();
    let status = wait_status(&*sink, |s| !s.last_error.is_empty()).await;
    assert_eq!(status.last_error, "transient: HTTP 500: boom");
    assert_eq!((status.total_events, status.last_flush), (0, None));

    offer_two();
    let status = wait_status(&*sink, |s| s.total_events == 2).await;
    assert_eq!((status.dropped_count, status.last_error.as_str()), (0, ""));
    let flushed_at = status.last_flush;
    assert!(flushed_at.is_some());

    offer_two();
    let status = wait_status(&*sink, |s| !s.last_error.is_empty()).await;
    assert_eq!(status.last_error, "transient: HTTP 429");
    assert_eq!((status.total_events, status.last_flush), (2, flushed_at));

    offer_two();
    let status = wait_status(&*sink, |s| s.last_error.starts_with("permanent")).await;
    assert_eq!(
        status.last_error,
        format!("permanent: HTTP 400: {}", "y".repeat(256))
    );
    assert_eq!(
        status.dropped_count, 0,
        "failed flushes are not buffer drops"
    );
    assert_eq!(hec.requests().len(), 4, "no retries");
}

#[tokio::test]
async fn overflow_drops_and_counts_events() {
    // A single-threaded runtime: the worker cannot run while the loop offers, so
    // exactly `capacity` events fit.
    let hec = FakeServer::start(|_| Reply::ok().after(Duration::from_millis(100))).await;
    let sink = start(&splunk_settings(&hec, batch(2, 1, NEVER)));

    for e in events(50) {
        sink.offer(&e);
    }

    let status = sink.status();
    assert_eq!((status.dropped_count, status.undelivered), (48, 2));
    sink.shutdown().await;
    let status = sink.status();
    assert_eq!(
        (
            status.total_events,
            status.dropped_count,
            status.undelivered
        ),
        (2, 48, 0)
    );
    let seen = hec.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(hec_tools(&seen[0].body), vec!["tool_0".to_owned()]);
    assert_eq!(hec_tools(&seen[1].body), vec!["tool_1".to_owned()]);
}

#[tokio::test]
async fn shutdown_flushes_pending_events() {
    let hec = FakeServer::accepting().await;
    let sink = start(&splunk_settings(&hec, batch(64, 100, NEVER)));

    for e in events(3) {
        sink.offer(&e);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(hec.requests().is_empty());
    assert_eq!(sink.status().undelivered, 3, "held until shutdown");
    sink.shutdown().await;

    let seen = hec.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(hec_tools(&seen[0].body), names("tool", 3));
    assert_eq!(sink.status().total_events, 3);
}

#[tokio::test]
async fn offers_after_shutdown_are_ignored() {
    let hec = FakeServer::accepting().await;
    let sink = start(&splunk_settings(&hec, batch(64, 1, 50)));

    sink.shutdown().await;
    sink.shutdown().await; // idempotent
    sink.offer(&event("late", "allow"));
    tokio::time::sleep(Duration::from_millis(200)).await;

    assert!(hec.requests().is_empty());
    let status = sink.status();
    assert_eq!((status.total_events, status.dropped_count), (0, 0));
}

#[tokio::test]
async fn spawn_starts_one_sink_per_destination_in_order() {
    let settings = SiemSettings {
        splunk: Some(SplunkSettings {
            url: "http://127.0.0.1:9/services/collector".into(),
            token: Secret::new("hec-token"),
            index: None,
        }),
        datadog: Some(DatadogSettings::new(
            Secret::new("dd-key"),
            "datadoghq.com",
            "intentgate-gateway",
        )),
        sentinel: Some(SentinelSettings::new(
            "https://dce.example",
            "dcr-1",
            "Custom-IG_CL",
            "tenant-1",
            "client-1",
            Secret::new("azure-secret"),
        )),
        batch: BatchSettings::default(),
    };

    let sinks = siem::spawn(&settings, Arc::new(SystemClock)).unwrap();

    let shown: Vec<(&str, String)> = sinks
        .iter()
        .map(|s| (s.status().name, s.status().endpoint))
        .collect();
    assert_eq!(
        shown,
        vec![
            ("splunk", "http://127.0.0.1:9/services/collector".to_owned()),
            (
                "datadog",
                "https://http-intake.logs.datadoghq.com/api/v2/logs".to_owned()
            ),
            ("sentinel", "https://dce.example".to_owned()),
        ]
    );
    for sink in &sinks {
        sink.shutdown().await;
    }
}

// ---------------------------------------------------------------- settings

const SPLUNK_ERROR: &str =
    "INTENTGATE_SIEM_SPLUNK_URL and INTENTGATE_SIEM_SPLUNK_TOKEN must be set together (Splunk HEC)";

fn lookup(vars: &[(&str, &str)]) -> Result<SiemSettings, Vec<String>> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    SiemSettings::from_lookup(|name| vars.get(name).cloned())
}

fn full_environment() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "INTENTGATE_SIEM_SPLUNK_URL",
            "https://splunk.example:8088/services/collector",
        ),
        ("INTENTGATE_SIEM_SPLUNK_TOKEN", "hec-secret-1"),
        ("INTENTGATE_SIEM_SPLUNK_INDEX", "security"),
        ("INTENTGATE_SIEM_DATADOG_API_KEY", "dd-secret-1"),
        (
            "INTENTGATE_SIEM_SENTINEL_DCE_URL",
            "https://ig-dce.eastus-1.ingest.monitor.azure.com/",
        ),
        ("INTENTGATE_SIEM_SENTINEL_DCR_ID", "dcr-1"),
        ("INTENTGATE_SIEM_SENTINEL_STREAM", "Custom-IntentGate_CL"),
        ("INTENTGATE_SIEM_SENTINEL_TENANT_ID", "tenant-1"),
        ("INTENTGATE_SIEM_SENTINEL_CLIENT_ID", "client-1"),
        ("INTENTGATE_SIEM_SENTINEL_CLIENT_SECRET", "azure-secret-1"),
    ]
}

#[test]
fn nothing_set_means_no_forwarders_and_default_batching() {
    let settings = lookup(&[]).unwrap();
    assert!(settings.is_empty());
    assert_eq!(
        settings.batch,
        BatchSettings {
            capacity: 4096,
            max_batch: 100,
            interval: Duration::from_secs(5),
            flush_timeout: Duration::from_secs(10),
        }
    );
    let blank: Vec<(&str, &str)> = full_environment().iter().map(|(k, _)| (*k, "")).collect();
    assert!(
        lookup(&blank).unwrap().is_empty(),
        "empty values count as unset"
    );
}

#[test]
fn the_full_environment_configures_all_three() {
    let settings = lookup(&full_environment()).unwrap();

    let splunk = settings.splunk.as_ref().unwrap();
    assert_eq!(splunk.url, "https://splunk.example:8088/services/collector");
    assert_eq!(splunk.token.expose(), "hec-secret-1");
    assert_eq!(splunk.index.as_deref(), Some("security"));
    let datadog = settings.datadog.as_ref().unwrap();
    assert_eq!(
        (datadog.site.as_str(), datadog.service.as_str()),
        ("datadoghq.com", "intentgate-gateway")
    );
    assert_eq!(
        datadog.intake_url,
        "https://http-intake.logs.datadoghq.com/api/v2/logs"
    );
    let sentinel = settings.sentinel.as_ref().unwrap();
    assert_eq!(
        sentinel.token_url,
        "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token"
    );
    assert_eq!(
        sentinel.ingest_url,
        "https://ig-dce.eastus-1.ingest.monitor.azure.com/dataCollectionRules/dcr-1/streams/Custom-IntentGate_CL?api-version=2023-01-01"
    );
    assert_eq!(sentinel.client_secret.expose(), "azure-secret-1");
    let shown = format!("{settings:?}");
    for secret in ["hec-secret-1", "dd-secret-1", "azure-secret-1"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

#[test]
fn datadog_site_and_service_can_be_chosen() {
    let settings = lookup(&[
        ("INTENTGATE_SIEM_DATADOG_API_KEY", "dd-secret-1"),
        ("INTENTGATE_SIEM_DATADOG_SITE", "datadoghq.eu"),
        ("INTENTGATE_SIEM_DATADOG_SERVICE", "gw-eu"),
    ])
    .unwrap();
    let datadog = settings.datadog.unwrap();
    assert_eq!(
        datadog.intake_url,
        "https://http-intake.logs.datadoghq.eu/api/v2/logs"
    );
    assert_eq!(datadog.service, "gw-eu");
    let without_key = lookup(&[("INTENTGATE_SIEM_DATADOG_SITE", "datadoghq.eu")]).unwrap();
    assert!(without_key.datadog.is_none());
}

#[test]
fn half_configured_splunk_is_an_error_that_names_both_variables() {
    let token_only = lookup(&[("INTENTGATE_SIEM_SPLUNK_TOKEN", "hec-secret-1")]).unwrap_err();
    assert_eq!(token_only, vec![SPLUNK_ERROR.to_owned()]);
    let url_only = lookup(&[
        (
            "INTENTGATE_SIEM_SPLUNK_URL",
            "https://splunk.example/services/collector",
        ),
        ("INTENTGATE_SIEM_SPLUNK_TOKEN", ""),
    ])
    .unwrap_err();
    assert_eq!(url_only, vec![SPLUNK_ERROR.to_owned()]);
}

#[test]
fn half_configured_sentinel_lists_what_is_missing_and_no_secret() {
    let errors = lookup(&[
        ("INTENTGATE_SIEM_SPLUNK_TOKEN", "hec-secret-1"),
        ("INTENTGATE_SIEM_SENTINEL_DCE_URL", "https://dce.example"),
        ("INTENTGATE_SIEM_SENTINEL_TENANT_ID", "tenant-1"),
        ("INTENTGATE_SIEM_SENTINEL_CLIENT_SECRET", "azure-secret-1"),
    ])
    .unwrap_err();

    assert_eq!(
        errors,
        vec![
            SPLUNK_ERROR.to_owned(),
            "Sentinel needs all six INTENTGATE_SIEM_SENTINEL_* variables; missing: \
             INTENTGATE_SIEM_SENTINEL_DCR_ID, INTENTGATE_SIEM_SENTINEL_STREAM, \
             INTENTGATE_SIEM_SENTINEL_CLIENT_ID"
                .to_owned(),
        ]
    );
    let all = errors.join("\n");
    assert!(!all.contains("hec-secret-1") && !all.contains("azure-secret-1"));
}

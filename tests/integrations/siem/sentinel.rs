//! Microsoft Sentinel: Azure AD client credentials, then the Logs Ingestion API.

use super::*;

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

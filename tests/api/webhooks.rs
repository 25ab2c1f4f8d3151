//! Signed webhooks against fake receivers (reference-admin-audit §8 and §13 scenarios
//! 71–73, plus Standard Webhooks replay protection). Delivery does not depend on the
//! store, so these run once, on memory.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use intentgate::adapters::clock::SystemClock;
use intentgate::adapters::webhook::WebhookSink;
use intentgate::config::WebhookSettings;
use intentgate::domain::audit::AuditEvent;
use intentgate::domain::time::Timestamp;
use intentgate::ports::EventSink;
use serde_json::{Value, json};

use crate::escalation::{escalating, spawn_call};
use crate::support::{Backend, FakeServer, Reply, Seen, TestGateway, mint};

const SECRET: &str = "test-secret";

fn sign(body: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A Standard Webhooks receiver: checks the signature over `id.timestamp.body`, a
/// five-minute timestamp tolerance, and refuses a message id it has seen.
fn verifying_receiver(seen_ids: Arc<Mutex<HashSet<String>>>) -> impl Fn(&Seen) -> Reply {
    move |req: &Seen| {
        let h = |k: &str| req.headers.get(k).cloned().unwrap_or_default();
        let (id, ts) = (h("webhook-id"), h("webhook-timestamp"));
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(format!("{id}.{ts}.{}", req.body).as_bytes());
        let want = format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        );
        let status = if h("webhook-signature") != want {
            401
        } else if (chrono_now() - ts.parse::<i64>().unwrap_or(0)).abs() > 300 {
            400
        } else if !seen_ids.lock().unwrap().insert(id) {
            409
        } else {
            204
        };
        Reply {
            status,
            body: String::new(),
            delay: Duration::ZERO,
        }
    }
}

fn chrono_now() -> i64 {
    use intentgate::ports::Clock;
    SystemClock.now().unix_seconds()
}

fn settings(url: &str) -> WebhookSettings {
    let mut s = WebhookSettings::from_lookup(|k| match k {
        "INTENTGATE_WEBHOOK_URL" => Some(url.to_owned()),
        "INTENTGATE_WEBHOOK_SECRET" => Some(SECRET.to_owned()),
        _ => None,
    })
    .unwrap();
    s.backoff = Duration::from_millis(20);
    s
}

fn deny_event() -> AuditEvent {
    let mut e = AuditEvent::new(
        Timestamp::parse_rfc3339("2026-05-12T10:00:01.5Z").unwrap(),
        "block",
        "transfer_funds",
    );
    e.check = "policy".into();
    e.tenant = "acme".into();
    e.agent_id = "finance-bot".into();
    e.reason = "above threshold".into();
    e.capability_token_id = "cap-1".into();
    e
}

#[tokio::test]
async fn s71_s72_a_blocked_call_is_delivered_signed() {
    let receiver = FakeServer::start(|_| Reply {
        status: 204,
        body: String::new(),
        delay: Duration::ZERO,
    })
    .await;
    let env = [
        ("INTENTGATE_WEBHOOK_URL", receiver.url.as_str()),
        ("INTENTGATE_WEBHOOK_SECRET", SECRET),
        ("INTENTGATE_REQUIRE_CAPABILITY", "true"),
    ];
    let gw = TestGateway::start(Backend::Memory, &env).await;
    gw.call("read_invoice", json!({}), None).await;
    let req = receiver.wait_for(1).await.remove(0);
    assert_eq!(req.headers["content-type"], "application/json");
    assert_eq!(req.headers["user-agent"], "intentgate-gateway/webhook");
    assert_eq!(req.headers["x-intentgate-signature"], sign(&req.body));
    let body: Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(
        (body["event"].as_str(), body["severity"].as_str()),
        (Some("intentgate.deny"), Some("critical"))
    );
    assert_eq!(body["check"], "capability");
    assert!(req.headers["webhook-id"].starts_with("msg_"));
}

#[tokio::test]
async fn s72_retries_on_5xx_and_429_but_not_on_401() {
    let n = Arc::new(Mutex::new(0));
    let counter = Arc::clone(&n);
    let flaky = FakeServer::start(move |_| {
        let mut c = counter.lock().unwrap();
        *c += 1;
        let status = [503, 429, 200][(*c - 1).min(2)];
        Reply {
            status,
            body: "busy".into(),
            delay: Duration::ZERO,
        }
    })
    .await;
    let sink = WebhookSink::spawn(settings(&flaky.url), Arc::new(SystemClock)).unwrap();
    sink.offer(&deny_event());
    sink.shutdown().await;
    let seen = flaky.requests();
    assert_eq!(seen.len(), 3, "503, 429, then success");
    assert_eq!(
        seen[0].headers["webhook-id"], seen[2].headers["webhook-id"],
        "one id across retries"
    );
    let status = sink.status();
    assert_eq!(
        (
            status.total_events,
            status.dropped_count,
            status.last_error.as_str()
        ),
        (1, 0, "")
    );

    let refusing = FakeServer::start(|_| Reply {
        status: 401,
        body: "no".into(),
        delay: Duration::ZERO,
    })
    .await;
    let sink = WebhookSink::spawn(settings(&refusing.url), Arc::new(SystemClock)).unwrap();
    sink.offer(&deny_event());
    sink.shutdown().await;
    assert_eq!(refusing.requests().len(), 1, "4xx is final");
    assert_eq!(sink.status().dropped_count, 1);
    assert!(sink.status().last_error.contains("HTTP 401"));

    let down = FakeServer::start(|_| Reply {
        status: 502,
        body: String::new(),
        delay: Duration::ZERO,
    })
    .await;
    let mut s = settings(&down.url);
    s.retries = 2;
    let sink = WebhookSink::spawn(s, Arc::new(SystemClock)).unwrap();
    sink.offer(&deny_event());
    sink.shutdown().await;
    assert_eq!(down.requests().len(), 3);
    assert!(
        sink.status().last_error.contains("all 3 attempts failed"),
        "{}",
        sink.status().last_error
    );
}

#[tokio::test]
async fn standard_webhooks_signatures_verify_and_replays_are_rejected() {
    let ids = Arc::new(Mutex::new(HashSet::new()));
    let receiver = FakeServer::start(verifying_receiver(Arc::clone(&ids))).await;
    let sink = WebhookSink::spawn(settings(&receiver.url), Arc::new(SystemClock)).unwrap();
    sink.offer(&deny_event());
    sink.shutdown().await;
    assert_eq!(
        sink.status().total_events,
        1,
        "{}",
        sink.status().last_error
    );
    let original = receiver.requests().remove(0);
    let replay = |tamper_ts: bool| {
        let mut req = reqwest::Client::new()
            .post(&receiver.url)
            .body(original.body.clone());
        for name in ["webhook-id", "webhook-signature", "content-type"] {
            req = req.header(name, &original.headers[name]);
        }
        let ts = original.headers["webhook-timestamp"]
            .parse::<i64>()
            .unwrap();
        req.header("webhook-timestamp", (ts + i64::from(tamper_ts)).to_string())
    };
    assert_eq!(
        replay(false).send().await.unwrap().status().as_u16(),
        409,
        "replayed id"
    );
    assert_eq!(
        replay(true).send().await.unwrap().status().as_u16(),
        401,
        "timestamp is signed"
    );
}

#[tokio::test]
async fn s73_a_full_buffer_drops_and_counts_and_shutdown_drains() {
    let slow = FakeServer::start(|_| Reply {
        status: 200,
        body: String::new(),
        delay: Duration::from_millis(100),
    })
    .await;
    let mut s = settings(&slow.url);
    s.capacity = 2;
    let sink = WebhookSink::spawn(s, Arc::new(SystemClock)).unwrap();
    for _ in 0..10 {
        sink.offer(&deny_event());
    }
    let queued = sink.status();
    assert_eq!(
        queued.undelivered + queued.dropped_count + queued.total_events,
        10,
        "{queued:?}"
    );
    assert!(queued.undelivered > 0, "{queued:?}");
    sink.shutdown().await;
    let status = sink.status();
    assert!(status.dropped_count > 0);
    assert_eq!(status.undelivered, 0, "drained");
    assert_eq!(status.total_events + status.dropped_count, 10);
    assert_eq!(
        slow.requests().len() as u64,
        status.total_events,
        "queued events were drained"
    );
    sink.offer(&deny_event());
    sink.shutdown().await;
    assert_eq!(
        slow.requests().len() as u64,
        status.total_events,
        "offer after shutdown is a no-op"
    );
}

#[tokio::test]
async fn s71_allowlist_and_approval_timeouts() {
    let receiver = FakeServer::start(|_| Reply {
        status: 200,
        body: String::new(),
        delay: Duration::ZERO,
    })
    .await;
    let env = [
        ("INTENTGATE_WEBHOOK_URL", receiver.url.as_str()),
        (
            "INTENTGATE_WEBHOOK_EVENTS",
            " intentgate.approval_timeout , intentgate.escalate",
        ),
        ("INTENTGATE_APPROVAL_TIMEOUT_S", "1"),
    ];
    let (gw, _f) = escalating(Backend::Memory, &env).await;
    let r = spawn_call(&gw, mint("agent-x", "acme", vec![]))
        .await
        .unwrap();
    let id = r["error"]["data"]["pending_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let seen = receiver.wait_for(2).await;
    let types: Vec<String> = seen
        .iter()
        .map(|s| {
            serde_json::from_str::<Value>(&s.body).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        types,
        ["intentgate.escalate", "intentgate.approval_timeout"],
        "deny filtered out"
    );
    let timeout: Value = serde_json::from_str(&seen[1].body).unwrap();
    assert_eq!(timeout["pending_id"], id.as_str());
    assert!(
        !seen[0].headers.contains_key("x-intentgate-signature"),
        "no secret, no signature"
    );
}

/// Witnessing: each checkpoint the gateway issues reaches the webhook, signed like
/// any delivery, carrying the whole note; `INTENTGATE_WEBHOOK_EVENTS` can leave it out.
#[tokio::test]
async fn a_new_checkpoint_is_delivered_to_the_webhook() {
    let receiver = FakeServer::start(|_| Reply {
        status: 204,
        body: String::new(),
        delay: Duration::ZERO,
    })
    .await;
    let mut env = crate::support::ADMIN_ENV.to_vec();
    env.extend([
        ("INTENTGATE_WEBHOOK_URL", receiver.url.as_str()),
        ("INTENTGATE_WEBHOOK_SECRET", SECRET),
        ("INTENTGATE_CHECKPOINT_ENTRIES", "0"),
    ]);
    let gw = TestGateway::start(Backend::Memory, &env).await;
    gw.seed(vec![crate::support::event(
        "2026-05-12T10:00:00Z",
        "acme",
        "a",
        "read",
        "allow",
    )])
    .await;
    let issued = gw
        .admin(
            "POST",
            "/v1/admin/audit/checkpoint?tenant=acme",
            Some("super"),
            None,
        )
        .await
        .json();
    let req = receiver.wait_for(1).await.remove(0);
    assert_eq!(req.headers["x-intentgate-signature"], sign(&req.body));
    let body: Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(body["event"], "intentgate.audit_checkpoint");
    assert_eq!(
        (body["chain"].as_str(), body["tree_size"].as_u64()),
        (Some("acme"), Some(1))
    );
    assert_eq!(body["checkpoint"], issued["checkpoint"]);
    assert_eq!(body["timestamp"], issued["issued_at"]);

    // Asking again for the same size issues nothing new, so nothing is sent again.
    gw.admin(
        "POST",
        "/v1/admin/audit/checkpoint?tenant=acme",
        Some("super"),
        None,
    )
    .await;
    gw.gateway.audit.shutdown().await;
    assert_eq!(receiver.requests().len(), 1);

    let only_denials = WebhookSettings {
        events: vec!["intentgate.deny".into()],
        ..settings(&receiver.url)
    };
    let sink = WebhookSink::spawn(only_denials, Arc::new(SystemClock)).unwrap();
    let signer = intentgate::domain::audit::checkpoint::LogSigner::new("g", &[1; 32]).unwrap();
    let checkpoint = signer
        .sign(
            "acme",
            1,
            intentgate::domain::audit::merkle::Hash([0; 32]),
            Timestamp::from_unix_seconds(0),
        )
        .unwrap();
    sink.offer_checkpoint(&checkpoint);
    sink.shutdown().await;
    assert_eq!(receiver.requests().len(), 1, "filtered out");
}

//! Outages of the services the gateway calls, against the real binary: the intent
//! extractor and the tool server down, slow, answering garbage or cutting the answer
//! off, and the webhook and SIEM receivers down while the data plane is timed. The
//! failing services are the fault-injecting receivers of `tests/common/fake.rs`;
//! interoperability with real servers is proven by the MCP and client harnesses.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use intentgate::domain::audit::FORWARDING_REASON;
use serde_json::{Value, json};

use super::client::{ADMIN_TOKEN, audit_events, tools_call};
use super::fake::{FakeServer, Reply, Seen, Streamed};
use super::{Gateway, token};

/// How a fault-injecting receiver answers right now; a test switches it between calls.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    Healthy,
    /// Answers after this long.
    Slow(Duration),
    /// Answers 200 with a body that is not what was asked for.
    Garbage,
    /// Sends the start of a JSON answer, then cuts the connection.
    CutJson,
    /// Opens an event stream, sends half an event, then cuts the connection.
    CutStream,
    /// Sends the headers, then stalls the body.
    StalledBody(Duration),
}

type Switch = Arc<Mutex<Fault>>;

fn switch() -> Switch {
    Arc::new(Mutex::new(Fault::Healthy))
}

fn set(switch: &Switch, fault: Fault) {
    *switch.lock().unwrap() = fault;
}

/// The answer a receiver in `fault` gives; `healthy` is its normal answer.
fn answer(fault: Fault, healthy: String) -> Streamed {
    match fault {
        Fault::Healthy => Streamed::json(&healthy),
        Fault::Slow(delay) => Reply::json(&healthy).after(delay).into(),
        Fault::Garbage => Streamed::json("<html>502 Bad Gateway</html>"),
        Fault::CutJson => Streamed::json(&healthy[..healthy.len() / 2]).reset(),
        Fault::CutStream => Streamed::sse()
            .then("event: message\ndata: {\"jsonrpc\":\"2.0\",")
            .reset(),
        Fault::StalledBody(hold) => Streamed::json(&healthy[..healthy.len() / 2]).hold(hold),
    }
}

/// A tool server that echoes the call's id in a result, unless a fault is switched on.
async fn tool_server(switch: &Switch) -> FakeServer {
    let switch = Arc::clone(switch);
    FakeServer::start(move |seen: &Seen| {
        let request: Value = serde_json::from_str(&seen.body).unwrap_or_default();
        let result = json!({"jsonrpc":"2.0","id":request["id"],
            "result":{"content":[{"type":"text","text":"done"}]}});
        answer(*switch.lock().unwrap(), result.to_string())
    })
    .await
}

/// An extractor that allows `read_invoice`, unless a fault is switched on.
async fn extractor(switch: &Switch) -> FakeServer {
    let switch = Arc::clone(switch);
    FakeServer::start(move |_: &Seen| {
        let intent = json!({"intent":{"summary":"pay invoices","allowed_tools":["read_invoice"],
            "forbidden_tools":["send_email"],"confidence":0.9}});
        answer(*switch.lock().unwrap(), intent.to_string())
    })
    .await
}

/// One `tools/call`, with an intent prompt when given; the JSON-RPC answer.
async fn call_tool(gateway: &str, tool: &str, n: u64, prompt: Option<&str>) -> Value {
    let client = reqwest::Client::new();
    let mut request = tools_call(&client, gateway, &token(1_000_000), tool, n);
    if let Some(prompt) = prompt {
        request = request.header("X-Intent-Prompt", prompt);
    }
    let text = request.send().await.unwrap().text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The error's `data` as text: the reason the caller is given.
fn refusal(answer: &Value) -> String {
    assert!(answer.get("result").is_none(), "refused: {answer}");
    match &answer["error"]["data"] {
        Value::String(reason) => reason.clone(),
        data => data.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn extractor_down_slow_or_garbled_refuses_only_the_calls_that_need_it() {
    let fault = switch();
    let service = extractor(&fault).await;
    let gateway = Gateway::start(&[
        ("INTENTGATE_STORE", "memory"),
        ("INTENTGATE_EXTRACTOR_URL", &service.url),
    ])
    .await;
    let allowed = call_tool(&gateway.url, "read_invoice", 1, Some("prompt 1")).await;
    assert!(allowed.get("result").is_some(), "{allowed}");

    set(&fault, Fault::Garbage);
    let garbled = call_tool(&gateway.url, "read_invoice", 2, Some("prompt 2")).await;
    assert_eq!(garbled["error"]["code"], -32011, "{garbled}");
    assert!(
        refusal(&garbled).starts_with("extractor decode: "),
        "{garbled}"
    );

    // A slow answer and a stalled body are both cut at the extractor's 10 s timeout;
    // calls that need no extractor go on meanwhile, at their usual speed.
    set(&fault, Fault::Slow(Duration::from_secs(30)));
    let started = Instant::now();
    let slow = tokio::spawn({
        let url = gateway.url.clone();
        async move { call_tool(&url, "read_invoice", 3, Some("prompt 3")).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    set(&fault, Fault::StalledBody(Duration::from_secs(30)));
    let stalled = tokio::spawn({
        let url = gateway.url.clone();
        async move { call_tool(&url, "read_invoice", 4, Some("prompt 4")).await }
    });
    for n in 10..30 {
        let before = Instant::now();
        let answer = call_tool(&gateway.url, "read_invoice", n, None).await;
        assert!(answer.get("result").is_some(), "{answer}");
        assert!(before.elapsed() < Duration::from_secs(2), "{n} waited");
    }
    for (task, expected) in [(slow, "extractor request: "), (stalled, "extractor read: ")] {
        let answer = task.await.unwrap();
        assert_eq!(answer["error"]["code"], -32011, "{answer}");
        assert!(refusal(&answer).starts_with(expected), "{answer}");
    }
    let waited = started.elapsed();
    assert!(
        (Duration::from_secs(9)..Duration::from_secs(20)).contains(&waited),
        "the extractor's timeout bounds the wait: {waited:?}"
    );

    set(&fault, Fault::Healthy);
    let recovered = call_tool(&gateway.url, "read_invoice", 5, Some("prompt 5")).await;
    assert!(recovered.get("result").is_some(), "{recovered}");
    drop(service);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let down = call_tool(&gateway.url, "read_invoice", 6, Some("prompt 6")).await;
    assert!(refusal(&down).starts_with("extractor request: "), "{down}");
    let cached = call_tool(&gateway.url, "read_invoice", 7, Some("prompt 1")).await;
    assert!(
        cached.get("result").is_some(),
        "an intent read before the outage is still cached: {cached}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn upstream_down_slow_garbled_or_cut_off_fails_closed_and_recovers() {
    let fault = switch();
    let service = tool_server(&fault).await;
    let gateway = Gateway::start(&[
        ("INTENTGATE_STORE", "memory"),
        ("INTENTGATE_UPSTREAM_URL", &service.url),
        ("INTENTGATE_UPSTREAM_TIMEOUT_MS", "1000"),
        ("INTENTGATE_ADMIN_TOKEN", ADMIN_TOKEN),
        ("INTENTGATE_AUDIT_PERSIST_ARG_VALUES", "raw"),
    ])
    .await;
    let faults = [
        (Fault::Slow(Duration::from_secs(5)), "upstream timeout"),
        (
            Fault::StalledBody(Duration::from_secs(5)),
            "upstream timeout",
        ),
        (Fault::Garbage, "upstream returned non-JSON-RPC body"),
        (Fault::CutJson, "upstream transport"),
        (Fault::CutStream, "upstream transport"),
    ];
    let mut n = 0;
    for (fault_now, message) in faults {
        set(&fault, fault_now);
        n += 1;
        let started = Instant::now();
        let refused = call_tool(&gateway.url, "read_invoice", n, None).await;
        assert_eq!(refused["error"]["code"], -32603, "{fault_now:?}: {refused}");
        assert_eq!(refused["error"]["message"], message, "{fault_now:?}");
        assert!(started.elapsed() < Duration::from_secs(3), "{fault_now:?}");
        set(&fault, Fault::Healthy);
        n += 1;
        let recovered = call_tool(&gateway.url, "read_invoice", n, None).await;
        assert_eq!(
            recovered["result"]["content"][0]["text"], "done",
            "{recovered}"
        );
    }
    drop(service);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let down = call_tool(&gateway.url, "read_invoice", 100, None).await;
    assert_eq!(down["error"]["message"], "upstream transport", "{down}");

    // Every refused call is audited as blocked at the upstream, every other as allowed.
    let events = audit_events(&gateway).await;
    let outcomes: Vec<(u64, String, String)> = events
        .iter()
        .filter(|e| e["reason"] != FORWARDING_REASON)
        .map(|e| {
            let n = e["arg_values"]["n"].as_u64().unwrap_or_default();
            let decision = e["decision"].as_str().unwrap_or_default().to_owned();
            (
                n,
                decision,
                e["check"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for n in (1..=10).chain([100]) {
        let refused = n % 2 == 1 || n == 100;
        let audited = outcomes.iter().any(|(m, decision, check)| {
            *m == n
                && match refused {
                    true => decision == "block" && check == "upstream",
                    false => decision == "allow",
                }
        });
        assert!(audited, "call {n} (refused: {refused}): {outcomes:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhook_and_siem_receivers_down_do_not_slow_the_data_plane() {
    let fault = switch();
    let receiver = {
        let fault = Arc::clone(&fault);
        FakeServer::start(move |_: &Seen| match *fault.lock().unwrap() {
            Fault::Healthy => Reply::ok(),
            // Accepts and never answers within the test: the worst a receiver can do.
            _ => Reply::ok().after(Duration::from_secs(3600)),
        })
        .await
    };
    let gateway = Gateway::start(&[
        ("INTENTGATE_STORE", "memory"),
        ("INTENTGATE_METRICS_ENABLED", "true"),
        ("INTENTGATE_WEBHOOK_URL", &receiver.url),
        ("INTENTGATE_SIEM_SPLUNK_URL", &receiver.url),
        ("INTENTGATE_SIEM_SPLUNK_TOKEN", "splunk-token"),
    ])
    .await;
    let client = reqwest::Client::new();
    timed_calls(&client, &gateway.url, 0, 100).await; // warm-up
    let healthy = timed_calls(&client, &gateway.url, 1_000, 400).await;
    let splunk = |r: &Seen| r.header("authorization") == "Splunk splunk-token";
    let seen = receiver.requests();
    assert!(
        seen.iter().any(splunk) && !seen.iter().all(splunk),
        "both the webhook and Splunk delivered while the receiver was up"
    );

    set(&fault, Fault::Slow(Duration::from_secs(3600)));
    let hanging = timed_calls(&client, &gateway.url, 2_000, 400).await;
    drop(receiver);
    let refusing = timed_calls(&client, &gateway.url, 3_000, 400).await;

    eprintln!(
        "data plane latency p50/p99 (µs) with the receivers healthy {healthy:?}, hanging {hanging:?}, refusing {refusing:?}"
    );
    for (name, down) in [("hanging", hanging), ("refusing", refusing)] {
        assert!(
            down.0 <= healthy.0 * 2 + 2_000,
            "median with the receivers {name}: {down:?} against {healthy:?}"
        );
        assert!(
            down.1 <= healthy.1 * 3 + 20_000,
            "p99 with the receivers {name}: {down:?} against {healthy:?}"
        );
    }
    let metrics = client
        .get(format!("{}/metrics", gateway.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        series_total(
            &metrics,
            "intentgate_gateway_webhook_deliveries_total",
            "dropped"
        ) > 0.0,
        "the webhook's full queue dropped, and counted it:\n{metrics}"
    );
}

/// `count` sequential calls, half allowed and half denied by policy (denials go to the
/// webhook); the median and 99th percentile latency in microseconds.
async fn timed_calls(client: &reqwest::Client, url: &str, first: u64, count: u64) -> (u128, u128) {
    let token = token(1_000_000);
    let mut took = Vec::new();
    for n in first..first + count {
        let tool = match n % 2 {
            0 => "read_invoice",
            _ => "delete",
        };
        let started = Instant::now();
        let text = tools_call(client, url, &token, tool, n)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        took.push(started.elapsed().as_micros());
        let expected = match tool {
            "delete" => "destructive tool blocked by policy",
            _ => "\"result\"",
        };
        assert!(text.contains(expected), "{tool}: {text}");
    }
    took.sort_unstable();
    let at = |q: usize| took[(took.len() - 1) * q / 100];
    (at(50), at(99))
}

/// The sum of a counter family's series whose labels include `outcome="…"`.
fn series_total(metrics: &str, family: &str, outcome: &str) -> f64 {
    let label = format!("outcome=\"{outcome}\"");
    metrics
        .lines()
        .filter(|line| line.starts_with(family) && line.contains(&label))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

//! §14.7 Upstream.

use crate::support::Backend;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{FakeServer, Reply, Streamed, TestGateway, with_upstream};

pub async fn s63_forwarded_result_gets_metadata_and_is_audited(backend: Backend) {
    let (gw, up) = with_upstream(backend, |_| Reply::json(r#"{"jsonrpc":"2.0","id":77,"result":{"content":[{"type":"text","text":"ok"}],"isError":false}}"#), &[]).await;
    let r = gw.call("read_invoice", json!({"id": "1"}), None).await;
    assert_eq!(r["id"], 1, "the client's id comes back");
    assert_eq!(r["result"]["content"][0]["text"], "ok");
    assert_eq!(r["result"]["_intentgate"]["decision"], "allow");
    assert_eq!(r["result"]["_intentgate"]["reason"], "forwarded");
    let events = gw.audit("").await;
    let last = &events.last().unwrap().event;
    assert_eq!(
        (
            last.decision.as_str(),
            last.check.as_str(),
            last.reason.as_str(),
            last.upstream_status
        ),
        ("allow", "upstream", "forwarded", 200)
    );
    assert_eq!(
        events.len(),
        2,
        "the decision was committed before forwarding"
    );
    assert_eq!(up.requests().len(), 1);
}

pub async fn s64_upstream_jsonrpc_error_passes_through(backend: Backend) {
    let (gw, _up) = with_upstream(
        backend,
        |_| {
            Reply::json(
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"db unavailable"}}"#,
            )
        },
        &[],
    )
    .await;
    let r = gw.call("read_invoice", json!({}), None).await;
    assert_eq!(
        r["error"],
        json!({"code":-32000,"message":"db unavailable"})
    );
    assert_eq!(gw.audit("").await.last().unwrap().event.decision, "allow");
}

pub async fn s65_upstream_http_errors(backend: Backend) {
    let (gw, _up) = with_upstream(
        backend,
        |_| Reply {
            status: 503,
            body: "down".into(),
            delay: Duration::ZERO,
        },
        &[],
    )
    .await;
    let r = gw.call("read_invoice", json!({}), None).await;
    assert_eq!(r["error"]["code"], -32603);
    assert_eq!(r["error"]["message"], "upstream upstream_http");
    assert_eq!(
        r["error"]["data"],
        json!({"detail":"upstream HTTP 503","upstream_status":503})
    );
    let last = gw.audit("").await.pop().unwrap().event;
    assert_eq!(
        (
            last.decision.as_str(),
            last.check.as_str(),
            last.upstream_status
        ),
        ("block", "upstream", 503)
    );
}

pub async fn s66_upstream_timeout(backend: Backend) {
    let (gw, _up) = with_upstream(
        backend,
        |_| Reply {
            status: 200,
            body: "{}".into(),
            delay: Duration::from_secs(3),
        },
        &[("INTENTGATE_UPSTREAM_TIMEOUT_MS", "200")],
    )
    .await;
    let r = gw.call("read_invoice", json!({}), None).await;
    assert_eq!(r["error"]["message"], "upstream timeout");
    assert_eq!(r["error"]["data"]["upstream_status"], 0);
    assert!(
        r["error"]["data"]["detail"]
            .as_str()
            .unwrap()
            .starts_with("upstream timeout: ")
    );
}

pub async fn s67_unreachable_upstream_is_a_transport_error(backend: Backend) {
    let gw = TestGateway::start(
        backend,
        &[("INTENTGATE_UPSTREAM_URL", "http://127.0.0.1:1")],
    )
    .await;
    let r = gw.call("read_invoice", json!({}), None).await;
    assert_eq!(r["error"]["message"], "upstream transport");
    assert!(
        r["error"]["data"]["detail"]
            .as_str()
            .unwrap()
            .starts_with("upstream transport error: ")
    );
}

/// Credentials in the tool server's URL go as `Authorization: Basic`, as Go sends them,
/// and never into error texts or audit reasons, where the password is masked as Go
/// masks it.
pub async fn credentials_in_the_upstream_url_are_sent_and_masked(backend: Backend) {
    let up = FakeServer::start(|_| Reply::json(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#)).await;
    let with_credentials = up.url.replace("http://", "http://agent:s%40cret@");
    let env = [("INTENTGATE_UPSTREAM_URL", with_credentials.as_str())];
    let gw = TestGateway::start(backend, &env).await;
    gw.call("read_invoice", json!({}), None).await;
    let seen = &up.requests()[0];
    // base64("agent:s@cret"), computed outside this code.
    assert_eq!(seen.header("authorization"), "Basic YWdlbnQ6c0BjcmV0");
    assert!(
        !seen.header("host").contains('@'),
        "{}",
        seen.header("host")
    );

    let unreachable = [(
        "INTENTGATE_UPSTREAM_URL",
        "http://agent:s%40cret@127.0.0.1:1/",
    )];
    let gw = TestGateway::start(backend, &unreachable).await;
    let r = gw.call("read_invoice", json!({}), None).await;
    let detail = r["error"]["data"]["detail"].as_str().unwrap();
    assert!(
        detail.contains(r#"Post "http://agent:***@127.0.0.1:1/""#),
        "{detail}"
    );
    assert!(!detail.contains("cret"), "{detail}");
    let reason = gw.audit("").await.last().unwrap().event.reason.clone();
    assert!(reason.starts_with("upstream transport error"), "{reason}");
    assert!(!reason.contains("cret"), "{reason}");
}

/// A tool server that redirects (`/mcp` to `/mcp/`, as ASGI apps mounted at a path
/// do) is followed, as Go's client follows it, body and all.
pub async fn a_redirecting_tool_server_is_followed(backend: Backend) {
    let up = FakeServer::start(|seen| match seen.path.as_str() {
        "/mcp" => Streamed::new(307, "text/plain").header("Location", "/mcp/"),
        _ => Reply::json(r#"{"jsonrpc":"2.0","id":1,"result":{"content":[]}}"#).into(),
    })
    .await;
    let url = format!("{}/mcp", up.url);
    let gw = TestGateway::start(backend, &[("INTENTGATE_UPSTREAM_URL", &url)]).await;
    let r = gw.call("read_invoice", json!({"id": "1"}), None).await;
    assert_eq!(r["result"]["_intentgate"]["reason"], "forwarded", "{r}");
    let last = up.requests().pop().unwrap();
    assert_eq!(
        (last.method.as_str(), last.path.as_str()),
        ("POST", "/mcp/")
    );
    assert!(last.body.contains("read_invoice"), "{}", last.body);
    // Once the redirect is known, a call costs one extra request, as with Go.
    let before = up.requests().len();
    gw.call("read_invoice", json!({"id": "2"}), None).await;
    let paths: Vec<String> = up.requests()[before..]
        .iter()
        .map(|s| s.path.clone())
        .collect();
    assert_eq!(paths, ["/mcp", "/mcp/"]);
}

pub async fn s68_oversized_upstream_body(backend: Backend) {
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"result":{{"blob":"{}"}}}}"#,
        "x".repeat(1 << 20)
    );
    let (gw, _up) = with_upstream(backend, move |_| Reply::json(&big), &[]).await;
    let r = gw.call("read_invoice", json!({}), None).await;
    assert_eq!(
        r["error"]["data"],
        json!({"detail":"upstream HTTP 200","upstream_status":200})
    );
}

pub async fn s69_non_json_upstream_body(backend: Backend) {
    let (gw, _up) = with_upstream(backend, |_| Reply::json("hello"), &[]).await;
    let r = gw.call("read_invoice", json!({}), None).await;
    assert_eq!(r["error"]["message"], "upstream returned non-JSON-RPC body");
    assert_eq!(
        r["error"]["data"],
        "invalid character 'h' looking for beginning of value"
    );
}

pub async fn s70_forwarded_body_and_headers(backend: Backend) {
    let (gw, up) = with_upstream(
        backend,
        |_| Reply::json(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#),
        &[],
    )
    .await;
    let body = r#"{"jsonrpc":"2.0", "id": 1, "method":"tools/call","params":{"name":"read_invoice","arguments":{"q":"<x>"},"_meta":{"progressToken":1}},"extra":1}"#;
    gw.post_raw(
        body.to_owned(),
        &[("Authorization", "Bearer nope"), ("X-Intent-Prompt", "p")],
    )
    .await;
    assert!(
        up.requests().is_empty(),
        "an invalid token is never forwarded"
    );
    gw.post_raw(body.to_owned(), &[("X-Intent-Prompt", "p")])
        .await;
    let seen = &up.requests()[0];
    assert_eq!(
        seen.body,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_invoice","arguments":{"q":"\u003cx\u003e"},"_meta":{"progressToken":1}}}"#
    );
    assert_eq!(seen.headers["content-type"], "application/json");
    assert_eq!(
        seen.headers["accept"],
        "application/json, text/event-stream"
    );
    assert!(!seen.headers.contains_key("authorization"));
    assert!(!seen.headers.contains_key("x-intent-prompt"));
}

/// Go reads a lone UTF-16 surrogate escape as U+FFFD: the call is checked, audited and
/// forwarded under that name, so the tool server runs what was checked.
pub async fn lone_surrogate_escapes_are_read_as_go_reads_them(backend: Backend) {
    let (gw, up) = with_upstream(
        backend,
        |_| Reply::json(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#),
        &[],
    )
    .await;
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_\uDEEEinvoice","arguments":{"note":"\ud800\uD83D\uDE00"}}}"#;
    let (status, text) = gw.post_raw(body.to_owned(), &[]).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"result\""), "{text}");
    assert_eq!(
        up.requests()[0].body,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_\ufffdinvoice","arguments":{"note":"\ufffd\uD83D\uDE00"}}}"#
    );
    let last = gw.audit("").await.pop().unwrap().event;
    assert_eq!(last.tool, "read_\u{fffd}invoice");
}

pub async fn null_and_odd_results_do_not_crash(backend: Backend) {
    let (gw, _up) = with_upstream(
        backend,
        |seen| {
            if seen.body.contains("null_tool") {
                Reply::json(r#"{"jsonrpc":"2.0","id":5,"result":null,"extra":{"k":1}}"#)
            } else {
                Reply::json(r#"{"jsonrpc":"2.0","id":5,"result":"text"}"#)
            }
        },
        &[],
    )
    .await;
    let (status, text) = gw
        .post_raw(
            crate::support::tool_call("read_null_tool", json!({})).to_string(),
            &[],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        text,
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":null,\"extra\":{\"k\":1}}\n"
    );
    let r: Value = gw.call("read_x", json!({}), None).await;
    assert_eq!(r["result"], "text");
}

pub async fn notification_with_empty_202_is_accepted(backend: Backend) {
    let (gw, up) = with_upstream(
        backend,
        |_| Reply {
            status: 202,
            body: String::new(),
            delay: Duration::ZERO,
        },
        &[],
    )
    .await;
    let body = r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"read_invoice"}}"#;
    let (status, text) = gw.post_raw(body.to_owned(), &[]).await;
    assert_eq!((status, text.as_str()), (202, ""));
    assert!(!up.requests()[0].body.contains("\"id\""));
    let last = gw.audit("").await.pop().unwrap().event;
    assert_eq!(
        (last.decision.as_str(), last.upstream_status),
        ("allow", 202)
    );
}

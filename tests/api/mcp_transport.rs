//! The MCP Streamable HTTP transport of `/v1/mcp`: event-stream answers from the tool
//! server, gateway sessions, notifications, GET and DELETE, protocol versions and the
//! 2026-07-28 request headers, what `tools/list` and `initialize` advertise, relayed
//! data methods, and the Origin check.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use intentgate::domain::token::{Caveat, attenuate, decode};
use serde_json::{Value, json};

use crate::support::{
    Answer, Backend, FakeServer, Reply, Seen, Streamed, TestGateway, mint, tool_call, with_upstream,
};

/// What a client that takes either answer sends.
const BOTH: &str = "application/json, text/event-stream";
const JSON_ONLY: (&str, &str) = ("Accept", "application/json");
const ACCEPT_BOTH: (&str, &str) = ("Accept", BOTH);
const PRIMING: &str = "id: 1\ndata: \n\n";
const PROGRESS: &str = r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p1","progress":1,"total":2}}"#;
const ANSWER: &str = r#"{"jsonrpc":"2.0","id":99,"result":{"content":[{"type":"text","text":"ok"}],"isError":false}}"#;
const INIT_RESULT: &str = r#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-11-25","capabilities":{"experimental":{"x":{}},"tasks":{"list":{}},"tools":{"listChanged":true},"logging":{}},"serverInfo":{"name":"up","version":"1"}}}"#;
const UP_SESSION: &str = "up-123";
const SESSION: &str = "Mcp-Session-Id";

/// One `data:` event.
fn event(data: &str) -> String {
    format!("data: {data}\n\n")
}

async fn within<T>(answer: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), answer)
        .await
        .expect("the gateway answered within 10 s")
}

/// POSTs one message to `/v1/mcp`.
async fn post(
    gw: &TestGateway,
    body: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> Answer {
    within(gw.admin_with("POST", "/v1/mcp", token, Some(body), headers)).await
}

/// A GET or DELETE of `/v1/mcp`.
async fn bodiless(
    gw: &TestGateway,
    method: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> Answer {
    within(gw.admin_with(method, "/v1/mcp", token, None, headers)).await
}

fn rpc(id: Value, method: &str, params: Value) -> String {
    json!({"jsonrpc":"2.0","id":id,"method":method,"params":params}).to_string()
}

fn initialize() -> String {
    rpc(
        json!(1),
        "initialize",
        json!({"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}),
    )
}

fn call(name: &str) -> String {
    tool_call(name, json!({"id":"1"})).to_string()
}

/// The events of an event-stream body as (id, data), comments skipped.
fn sse_events(text: &str) -> Vec<(Option<String>, String)> {
    text.split("\n\n")
        .filter_map(|block| {
            let (mut id, mut data) = (None, Vec::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = Some(v.trim_start().to_owned());
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            (!data.is_empty()).then(|| (id, data.join("\n")))
        })
        .collect()
}

/// The JSON-RPC messages of an event-stream body, in order.
fn messages(text: &str) -> Vec<Value> {
    sse_events(text)
        .into_iter()
        .filter(|(_, data)| !data.trim().is_empty())
        .map(|(_, data)| serde_json::from_str(&data).unwrap_or_else(|e| panic!("{e}: {data}")))
        .collect()
}

/// The JSON-RPC `method` of a request the tool server saw (`""` for a response).
fn method_of(seen: &Seen) -> String {
    serde_json::from_str::<Value>(&seen.body)
        .ok()
        .and_then(|v| v["method"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The requests the tool server saw whose JSON-RPC method is `method`.
fn forwarded(up: &FakeServer, method: &str) -> Vec<Seen> {
    up.requests()
        .into_iter()
        .filter(|s| s.method == "POST" && method_of(s) == method)
        .collect()
}

/// A tool server that keeps sessions: `initialize` opens `up-123`; notifications and
/// client responses get 202; other requests get [`ANSWER`]; DELETE 200; GET 405.
fn session_server(seen: &Seen) -> Streamed {
    let body: Value = serde_json::from_str(&seen.body).unwrap_or(Value::Null);
    match seen.method.as_str() {
        "DELETE" => Reply::new(200, "").into(),
        "POST" if body["method"] == "initialize" => {
            Streamed::json(INIT_RESULT).header(SESSION, UP_SESSION)
        }
        "POST" if body.get("id").is_none() || body.get("method").is_none() => {
            Reply::new(202, "").into()
        }
        "POST" => Streamed::json(ANSWER),
        _ => Reply::new(405, "").into(),
    }
}

/// A tool server that opens sessions `up-0`, `up-1`, … in turn, one per `initialize`
/// (answered by `init` with the new id); every other request goes to `rest` with the
/// upstream session id it names.
fn numbered_sessions(
    init: impl Fn(&str) -> Streamed + Send + Sync + 'static,
    rest: impl Fn(&Seen, &str) -> Streamed + Send + Sync + 'static,
) -> impl Fn(&Seen) -> Streamed + Send + Sync + 'static {
    let opened = AtomicUsize::new(0);
    move |seen: &Seen| {
        if seen.method == "POST" && method_of(seen) == "initialize" {
            let n = opened.fetch_add(1, Ordering::SeqCst);
            return init(&format!("up-{n}"));
        }
        rest(seen, seen.header("mcp-session-id"))
    }
}

/// `initialize`; returns the gateway's session id.
async fn open_session(gw: &TestGateway, token: Option<&str>) -> String {
    let init = post(gw, &initialize(), token, &[]).await;
    assert_eq!(init.status, 200, "{}", init.text);
    let id = init.header(SESSION).to_owned();
    assert!(!id.is_empty(), "initialize opened no session");
    id
}

fn names(list: &Value) -> Vec<&str> {
    list["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools: {list}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap_or_default())
        .collect()
}

fn capability_names(result: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = result["capabilities"]
        .as_object()
        .unwrap_or_else(|| panic!("no capabilities: {result}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// Rule: a tool server's event-stream answer reaches a client that accepts only JSON as
/// one JSON body (result with `_intentgate`, progress dropped), and a client that
/// accepts event streams as a stream: the progress notification first, the answer
/// (with the client's own id and `_intentgate`) last. The gateway asks for either.
pub async fn sse_answer_goes_out_as_the_client_accepts(backend: Backend) {
    let (gw, up) = with_upstream(
        backend,
        |_| {
            Streamed::sse()
                .then(PRIMING)
                .then(&event(PROGRESS))
                .then(&event(ANSWER))
        },
        &[],
    )
    .await;
    let json_only = post(&gw, &call("read_invoice"), None, &[JSON_ONLY]).await;
    assert_eq!(json_only.status, 200, "{}", json_only.text);
    assert!(
        json_only
            .header("content-type")
            .starts_with("application/json"),
        "{:?}",
        json_only.headers
    );
    let r = json_only.json();
    assert_eq!(r["id"], 1, "the client's id, not the tool server's");
    assert_eq!(r["result"]["content"][0]["text"], "ok");
    assert_eq!(r["result"]["_intentgate"]["decision"], "allow");
    assert_eq!(r["result"]["_intentgate"]["reason"], "forwarded");
    assert!(!json_only.text.contains("progress"), "{}", json_only.text);

    let mut streamed_call = tool_call("read_invoice", json!({"id":"2"}));
    streamed_call["id"] = json!("client-7");
    let streamed = post(&gw, &streamed_call.to_string(), None, &[ACCEPT_BOTH]).await;
    assert_eq!(streamed.status, 200, "{}", streamed.text);
    assert!(
        streamed
            .header("content-type")
            .starts_with("text/event-stream"),
        "{:?}",
        streamed.headers
    );
    let msgs = messages(&streamed.text);
    assert_eq!(msgs.len(), 2, "{}", streamed.text);
    assert_eq!(msgs[0], serde_json::from_str::<Value>(PROGRESS).unwrap());
    assert_eq!(msgs[1]["id"], "client-7");
    assert_eq!(msgs[1]["result"]["content"][0]["text"], "ok");
    assert_eq!(msgs[1]["result"]["_intentgate"]["decision"], "allow");

    let seen = up.requests();
    assert_eq!(seen.len(), 2);
    for s in &seen {
        assert_eq!(s.header("accept"), BOTH);
    }
    let last = gw.audit("").await.pop().unwrap().event;
    assert_eq!(
        (
            last.decision.as_str(),
            last.check.as_str(),
            last.reason.as_str()
        ),
        ("allow", "upstream", "forwarded")
    );
}

/// Rule: event-stream framing is decoded however the body is cut: lines split across
/// reads (even between CR and LF), CRLF line ends, `: keep-alive` comments, and `data:`
/// spread over several lines (joined with LF) all give the same answer.
pub async fn sse_framing_survives_tiny_chunks(backend: Backend) {
    let tick = Duration::from_millis(15);
    let (gw, _up) = with_upstream(
        backend,
        move |_| {
            Streamed::sse()
                .then("id: 1\r")
                .after(tick, "\ndata: \r\n\r\n")
                .after(tick, ": keep-alive\r\n\r\n")
                .after(
                    tick,
                    "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/pro",
                )
                .after(
                    tick,
                    "gress\",\"params\":{\"progressToken\":\"p1\",\"progress\":1}}\r",
                )
                .after(tick, "\n\r\n")
                .after(tick, ": keep-alive\r\n")
                .after(
                    tick,
                    "id: 2\r\nevent: message\r\ndata: {\"jsonrpc\":\"2.0\",\r\n",
                )
                .after(
                    tick,
                    "data: \"id\":99,\r\ndata:\"result\":{\"content\":[{\"type\":",
                )
                .after(tick, "\"text\",\"text\":\"fra")
                .after(tick, "med\"}]}}\r")
                .after(tick, "\n")
                .after(tick, "\r\n")
        },
        &[],
    )
    .await;
    let whole = post(&gw, &call("read_invoice"), None, &[JSON_ONLY]).await;
    let r = whole.json();
    assert_eq!(r["result"]["content"][0]["text"], "framed", "{r}");
    assert_eq!(r["result"]["_intentgate"]["decision"], "allow");

    let streamed = post(&gw, &call("read_invoice"), None, &[ACCEPT_BOTH]).await;
    let msgs = messages(&streamed.text);
    assert_eq!(msgs.len(), 2, "{}", streamed.text);
    assert_eq!(msgs[0]["method"], "notifications/progress");
    assert_eq!(msgs[0]["params"]["progress"], 1);
    assert_eq!(msgs[1]["id"], 1);
    assert_eq!(msgs[1]["result"]["content"][0]["text"], "framed");
}

/// Rule: the upstream timeout bounds the whole exchange, event stream included: a tool
/// server that sends progress and then nothing gives -32603 `upstream timeout`, and the
/// call is audited as blocked at the upstream stage.
pub async fn a_stalled_answer_stream_times_out(backend: Backend) {
    let (gw, _up) = with_upstream(
        backend,
        |_| {
            Streamed::sse()
                .then(PRIMING)
                .then(&event(PROGRESS))
                .hold(Duration::from_secs(10))
        },
        &[("INTENTGATE_UPSTREAM_TIMEOUT_MS", "300")],
    )
    .await;
    let started = Instant::now();
    let r = post(&gw, &call("read_invoice"), None, &[JSON_ONLY])
        .await
        .json();
    assert!(started.elapsed() < Duration::from_secs(3), "{r}");
    assert_eq!(r["error"]["code"], -32603, "{r}");
    assert_eq!(r["error"]["message"], "upstream timeout");
    let last = gw.audit("").await.pop().unwrap().event;
    assert_eq!(
        (last.decision.as_str(), last.check.as_str()),
        ("block", "upstream")
    );
    assert!(
        last.reason.starts_with("upstream timeout"),
        "{}",
        last.reason
    );

    // A client taking a stream gets the progress, then the error as the last event.
    let streamed = post(&gw, &call("read_invoice"), None, &[ACCEPT_BOTH]).await;
    let msgs = messages(&streamed.text);
    assert_eq!(msgs.len(), 2, "{}", streamed.text);
    assert_eq!(msgs[0]["method"], "notifications/progress");
    assert_eq!(msgs[1]["id"], 1);
    assert_eq!(msgs[1]["error"]["message"], "upstream timeout");
}

/// Rule: an event larger than the 1 MiB message bound is refused like an oversize JSON
/// body: -32603 `upstream upstream_http`.
pub async fn an_oversize_event_is_an_upstream_http_error(backend: Backend) {
    let quarter = "x".repeat(300 * 1024);
    let (gw, _up) = with_upstream(
        backend,
        move |_| {
            Streamed::sse()
                .then(PRIMING)
                .then(r#"data: {"jsonrpc":"2.0","id":1,"result":{"blob":""#)
                .then(&quarter)
                .then(&quarter)
                .then(&quarter)
                .then(&quarter)
                .then("\"}}\n\n")
        },
        &[],
    )
    .await;
    for accept in [JSON_ONLY, ACCEPT_BOTH] {
        let r = post(&gw, &call("read_invoice"), None, &[accept])
            .await
            .json();
        assert_eq!(r["error"]["code"], -32603, "{r}");
        assert_eq!(r["error"]["message"], "upstream upstream_http");
        assert_eq!(
            r["error"]["data"],
            json!({"detail":"upstream HTTP 200","upstream_status":200})
        );
    }
}

/// Rule: a tool server's HTTP error status that carries a JSON-RPC error body is passed
/// through: the client sees that error object, with its own id.
pub async fn upstream_4xx_jsonrpc_errors_pass_through(backend: Backend) {
    let (gw, _up) = with_upstream(
        backend,
        |_| {
            Reply::new(
                400,
                r#"{"jsonrpc":"2.0","id":"server-error","error":{"code":-32600,"message":"Bad Request: Missing session ID"}}"#,
            )
        },
        &[],
    )
    .await;
    let error = json!({"code":-32600,"message":"Bad Request: Missing session ID"});
    let r = post(&gw, &call("read_invoice"), None, &[]).await.json();
    assert_eq!(r, json!({"jsonrpc":"2.0","id":1,"error":error}));
    let list = post(&gw, &rpc(json!("l-1"), "tools/list", json!({})), None, &[])
        .await
        .json();
    assert_eq!(list, json!({"jsonrpc":"2.0","id":"l-1","error":error}));
}

/// Rule: `initialize` opens a gateway session of its own (a fresh visible-ASCII id, the
/// tool server's never shown) bound to the caller: the owner's calls reach the tool
/// server in its session and are audited with the gateway's id; another subject, another
/// tenant or an unknown id gets 404 and nothing is forwarded. DELETE ends it on both
/// sides; the id is then unknown.
pub async fn sessions_are_bound_to_the_caller_and_mapped_upstream(backend: Backend) {
    let (gw, up) = with_upstream(backend, session_server, &[]).await;
    let owner = mint("agent-a", "acme", vec![]);
    let init = post(&gw, &initialize(), Some(&owner), &[]).await;
    assert_eq!(init.status, 200, "{}", init.text);
    let sid = init.header(SESSION).to_owned();
    assert!(!sid.is_empty() && !sid.contains(UP_SESSION), "{sid:?}");
    assert!(sid.bytes().all(|b| (0x21..=0x7E).contains(&b)), "{sid:?}");
    assert!(!init.text.contains(UP_SESSION), "{}", init.text);
    assert_eq!(init.json()["result"]["serverInfo"]["name"], "up");
    assert_eq!(forwarded(&up, "initialize")[0].header("mcp-session-id"), "");

    let session = [(SESSION, sid.as_str())];
    let r = post(&gw, &call("read_invoice"), Some(&owner), &session)
        .await
        .json();
    assert_eq!(r["result"]["content"][0]["text"], "ok", "{r}");
    let calls = forwarded(&up, "tools/call");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].header("mcp-session-id"), UP_SESSION);
    assert_eq!(
        calls[0].header("mcp-protocol-version"),
        "2025-11-25",
        "the version the session negotiated"
    );
    let last = gw.audit("acme").await.pop().unwrap().event;
    assert_eq!(
        (last.reason.as_str(), last.session_id.as_str()),
        ("forwarded", sid.as_str())
    );

    let other_subject = mint("agent-b", "acme", vec![]);
    let other_tenant = mint("agent-a", "globex", vec![]);
    for token in [&other_subject, &other_tenant] {
        let refused = post(&gw, &call("read_invoice"), Some(token), &session).await;
        assert_eq!(refused.status, 404, "{}", refused.text);
    }
    let unknown = [(SESSION, "no-such-session")];
    let refused = post(&gw, &call("read_invoice"), Some(&owner), &unknown).await;
    assert_eq!(refused.status, 404, "{}", refused.text);
    assert_eq!(
        forwarded(&up, "tools/call").len(),
        1,
        "nothing more forwarded"
    );
    let not_theirs = bodiless(&gw, "DELETE", Some(&other_subject), &session).await;
    assert_eq!(not_theirs.status, 404, "{}", not_theirs.text);
    let still = post(&gw, &call("read_invoice"), Some(&owner), &session).await;
    assert_eq!(still.status, 200, "{}", still.text);

    let end = bodiless(&gw, "DELETE", Some(&owner), &session).await;
    assert_eq!(end.status, 200, "{}", end.text);
    let deletes: Vec<Seen> = up
        .requests()
        .into_iter()
        .filter(|s| s.method == "DELETE")
        .collect();
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].header("mcp-session-id"), UP_SESSION);
    let after = post(&gw, &call("read_invoice"), Some(&owner), &session).await;
    assert_eq!(after.status, 404, "{}", after.text);
    assert_eq!(forwarded(&up, "tools/call").len(), 2);
}

/// Rule: sessions live in the shared store: one opened on a replica is usable (and can
/// be ended) on another replica on the same Postgres database.
pub async fn a_session_opened_on_one_replica_is_usable_on_another(backend: Backend) {
    let (first, up) = with_upstream(backend, session_server, &[]).await;
    let second = first
        .replica(&[("INTENTGATE_UPSTREAM_URL", up.url.as_str())])
        .await;
    let owner = mint("agent-a", "acme", vec![]);
    let sid = open_session(&first, Some(&owner)).await;
    let session = [(SESSION, sid.as_str())];
    let r = post(&second, &call("read_invoice"), Some(&owner), &session)
        .await
        .json();
    assert_eq!(r["result"]["content"][0]["text"], "ok", "{r}");
    assert_eq!(
        forwarded(&up, "tools/call")[0].header("mcp-session-id"),
        UP_SESSION
    );
    let end = bodiless(&second, "DELETE", Some(&owner), &session).await;
    assert_eq!(end.status, 200, "{}", end.text);
    let after = post(&first, &call("read_invoice"), Some(&owner), &session).await;
    assert_eq!(after.status, 404, "{}", after.text);
}

/// Rule: a notification and a client's JSON-RPC response are answered 202 with no body
/// and passed to the tool server as sent, in the tool server's session when the client
/// is in one of the gateway's.
pub async fn notifications_and_client_responses_are_passed_on(backend: Backend) {
    let (gw, up) = with_upstream(backend, session_server, &[]).await;
    let token = mint("agent-a", "acme", vec![]);
    let note = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    let accepted = post(&gw, note, Some(&token), &[]).await;
    assert_eq!((accepted.status, accepted.text.as_str()), (202, ""));
    let seen = up.requests().pop().unwrap();
    assert_eq!(
        (seen.body.as_str(), seen.header("mcp-session-id")),
        (note, "")
    );

    let sid = open_session(&gw, Some(&token)).await;
    let session = [(SESSION, sid.as_str())];
    let accepted = post(&gw, note, Some(&token), &session).await;
    assert_eq!((accepted.status, accepted.text.as_str()), (202, ""));
    let seen = up.requests().pop().unwrap();
    assert_eq!(
        (seen.body.as_str(), seen.header("mcp-session-id")),
        (note, UP_SESSION)
    );

    let response = r#"{"jsonrpc":"2.0","id":"srv-1","result":{}}"#;
    let accepted = post(&gw, response, Some(&token), &session).await;
    assert_eq!((accepted.status, accepted.text.as_str()), (202, ""));
    let seen = up.requests().pop().unwrap();
    assert_eq!(
        (seen.body.as_str(), seen.header("mcp-session-id")),
        (response, UP_SESSION)
    );
}

/// Rule: GET opens the session's server-to-client stream: 405 without a session, when
/// the tool server offers none, or in the stateless era; otherwise the tool server's
/// events are relayed with their ids.
pub async fn get_relays_the_session_stream_or_is_405(backend: Backend) {
    let init = |id: &str| {
        Streamed::sse()
            .header(SESSION, id)
            .then(PRIMING)
            .then(&event(INIT_RESULT))
    };
    let (gw, up) = with_upstream(
        backend,
        numbered_sessions(init, |seen, session| match (seen.method.as_str(), session) {
            ("GET", "up-0") => Streamed::sse()
                .then("id: 7\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"a\"}}\n\n")
                .then("id: 8\ndata: {\"jsonrpc\":\"2.0\",\"id\":\"srv-1\",\"method\":\"ping\"}\n\n"),
            _ => Reply::new(405, "").into(),
        }),
        &[],
    )
    .await;
    let token = mint("agent-a", "acme", vec![]);
    let no_session = bodiless(&gw, "GET", Some(&token), &[]).await;
    assert_eq!(no_session.status, 405, "{}", no_session.text);

    let streaming = open_session(&gw, Some(&token)).await;
    let stream = bodiless(&gw, "GET", Some(&token), &[(SESSION, &streaming)]).await;
    assert_eq!(stream.status, 200, "{}", stream.text);
    assert!(
        stream
            .header("content-type")
            .starts_with("text/event-stream"),
        "{:?}",
        stream.headers
    );
    let events = sse_events(&stream.text);
    let ids: Vec<Option<&str>> = events.iter().map(|(id, _)| id.as_deref()).collect();
    assert_eq!(ids, [Some("7"), Some("8")], "{}", stream.text);
    let data: Value = serde_json::from_str(&events[1].1).unwrap();
    assert_eq!(data, json!({"jsonrpc":"2.0","id":"srv-1","method":"ping"}));
    let gets: Vec<Seen> = up
        .requests()
        .into_iter()
        .filter(|s| s.method == "GET")
        .collect();
    assert_eq!(gets.len(), 1);
    assert_eq!(gets[0].header("mcp-session-id"), "up-0");
    assert!(gets[0].header("accept").contains("text/event-stream"));

    let unknown = bodiless(&gw, "GET", Some(&token), &[(SESSION, "nope")]).await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    let stranger = mint("agent-b", "acme", vec![]);
    let foreign = bodiless(&gw, "GET", Some(&stranger), &[(SESSION, &streaming)]).await;
    assert_eq!(foreign.status, 404, "{}", foreign.text);
    assert_eq!(
        up.requests().iter().filter(|s| s.method == "GET").count(),
        1
    );

    let refusing = open_session(&gw, Some(&token)).await;
    let none = bodiless(&gw, "GET", Some(&token), &[(SESSION, &refusing)]).await;
    assert_eq!(none.status, 405, "{}", none.text);

    let stateless = [
        (SESSION, streaming.as_str()),
        ("MCP-Protocol-Version", "2026-07-28"),
    ];
    let before = up.requests().len();
    let refused = bodiless(&gw, "GET", Some(&token), &stateless).await;
    assert_eq!(refused.status, 405, "{}", refused.text);
    assert_eq!(up.requests().len(), before);
}

/// Rule: a session's GET stream waits for the tool server's headers no longer than the
/// upstream timeout (a tool server that never answers gives 502, not a GET held for
/// ever); once open, the stream is not cut by that timeout.
pub async fn a_get_stream_waits_for_headers_only_until_the_timeout(backend: Backend) {
    let init = |id: &str| Streamed::json(INIT_RESULT).header(SESSION, id);
    let (gw, up) = with_upstream(
        backend,
        numbered_sessions(init, |seen, session| match (seen.method.as_str(), session) {
            ("GET", "up-0") => Streamed {
                delay: Duration::from_secs(30),
                ..Streamed::sse().then(&event(PROGRESS))
            },
            ("GET", _) => Streamed::sse()
                .then("id: 1\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{}}\n\n")
                .after(Duration::from_millis(900), "id: 2\ndata: {\"jsonrpc\":\"2.0\",\"id\":\"srv-1\",\"method\":\"ping\"}\n\n"),
            _ => Reply::new(405, "").into(),
        }),
        &[("INTENTGATE_UPSTREAM_TIMEOUT_MS", "300")],
    )
    .await;
    let token = mint("agent-a", "acme", vec![]);
    let silent = open_session(&gw, Some(&token)).await;
    let started = Instant::now();
    let refused = bodiless(&gw, "GET", Some(&token), &[(SESSION, &silent)]).await;
    assert_eq!(refused.status, 502, "{}", refused.text);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    let speaking = open_session(&gw, Some(&token)).await;
    let stream = bodiless(&gw, "GET", Some(&token), &[(SESSION, &speaking)]).await;
    assert_eq!(stream.status, 200, "{}", stream.text);
    let ids: Vec<Option<String>> = sse_events(&stream.text)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        ids,
        [Some("1".to_owned()), Some("2".to_owned())],
        "{}",
        stream.text
    );
    assert_eq!(
        up.requests().iter().filter(|s| s.method == "GET").count(),
        2
    );
}

/// Rule: an unsupported `MCP-Protocol-Version` is refused (400, -32022, the served
/// versions in `data.supported`) and never forwarded; a supported one is forwarded as
/// the same header.
pub async fn protocol_versions_are_checked_and_forwarded(backend: Backend) {
    let (gw, up) = with_upstream(backend, |_| Reply::json(ANSWER), &[]).await;
    for body in [call("read_invoice"), rpc(json!(2), "tools/list", json!({}))] {
        let refused = post(&gw, &body, None, &[("MCP-Protocol-Version", "1900-01-01")]).await;
        assert_eq!(refused.status, 400, "{}", refused.text);
        let e = &refused.json()["error"];
        assert_eq!(e["code"], -32022, "{e}");
        let supported = e["data"]["supported"].as_array().unwrap();
        assert!(supported.contains(&json!("2026-07-28")), "{e}");
        assert!(supported.contains(&json!("2025-11-25")), "{e}");
    }
    assert!(up.requests().is_empty(), "{:?}", up.requests());

    let ok = post(
        &gw,
        &call("read_invoice"),
        None,
        &[("MCP-Protocol-Version", "2025-06-18")],
    )
    .await;
    assert_eq!(ok.json()["result"]["content"][0]["text"], "ok");
    assert_eq!(
        up.requests()[0].header("mcp-protocol-version"),
        "2025-06-18"
    );
}

/// A 2026-07-28 `tools/call` of `name`.
fn stateless_call(name: &str) -> String {
    rpc(
        json!(1),
        "tools/call",
        json!({"name":name,"arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}),
    )
}

/// Rule: in the 2026-07-28 protocol the request headers must repeat the body: a
/// mismatch or a missing `Mcp-Name` is 400 with -32020 and nothing is forwarded;
/// matching headers (base64-encoded ones decoded first) pass and reach the tool server
/// with the `Mcp-Param-*` ones. An unknown method is HTTP 404 with -32601;
/// `server/discover` is relayed with its capabilities cut to what the gateway relays.
pub async fn stateless_request_headers_must_match_the_body(backend: Backend) {
    let (gw, up) = with_upstream(
        backend,
        |seen: &Seen| match method_of(seen).as_str() {
            "server/discover" => Reply::json(
                r#"{"jsonrpc":"2.0","id":1,"result":{"supportedVersions":["2026-07-28"],"capabilities":{"experimental":{},"tools":{},"tasks":{"list":{}},"resources":{},"prompts":{},"completions":{},"logging":{},"elicitation":{}}}}"#,
            ),
            _ => Reply::json(ANSWER),
        },
        &[],
    )
    .await;
    let v = ("MCP-Protocol-Version", "2026-07-28");
    let m = ("Mcp-Method", "tools/call");
    let mismatch = post(
        &gw,
        &stateless_call("send_email"),
        None,
        &[v, m, ("Mcp-Name", "read_invoice")],
    )
    .await;
    assert_eq!(mismatch.status, 400, "{}", mismatch.text);
    assert_eq!(mismatch.json()["error"]["code"], -32020);
    let missing = post(&gw, &stateless_call("read_invoice"), None, &[v, m]).await;
    assert_eq!(missing.status, 400, "{}", missing.text);
    assert_eq!(missing.json()["error"]["code"], -32020);
    assert!(up.requests().is_empty(), "{:?}", up.requests());

    let headers = [
        v,
        m,
        ("Mcp-Name", "read_invoice"),
        ("Mcp-Param-Region", "x"),
    ];
    let ok = post(&gw, &stateless_call("read_invoice"), None, &headers).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json()["result"]["content"][0]["text"], "ok");
    let seen = &up.requests()[0];
    assert_eq!(seen.header("mcp-method"), "tools/call");
    assert_eq!(seen.header("mcp-name"), "read_invoice");
    assert_eq!(seen.header("mcp-param-region"), "x");
    assert_eq!(seen.header("mcp-protocol-version"), "2026-07-28");

    let encoded = [v, m, ("Mcp-Name", "=?base64?cmVhZF9pbnZvaWNl?=")];
    let ok = post(&gw, &stateless_call("read_invoice"), None, &encoded).await;
    assert_eq!(
        ok.json()["result"]["content"][0]["text"],
        "ok",
        "{}",
        ok.text
    );
    assert_eq!(up.requests().len(), 2);

    let unknown = rpc(
        json!(4),
        "tasks/list",
        json!({"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}),
    );
    let refused = post(&gw, &unknown, None, &[v, ("Mcp-Method", "tasks/list")]).await;
    assert_eq!(refused.status, 404, "{}", refused.text);
    assert_eq!(refused.json()["error"]["code"], -32601);
    assert_eq!(up.requests().len(), 2);

    let discover = rpc(json!(5), "server/discover", json!({}));
    let found = post(
        &gw,
        &discover,
        None,
        &[v, ("Mcp-Method", "server/discover")],
    )
    .await;
    let r = found.json();
    assert_eq!(r["id"], 5, "{r}");
    assert_eq!(
        capability_names(&r["result"]),
        ["completions", "logging", "prompts", "resources", "tools"]
    );
    assert_eq!(forwarded(&up, "server/discover").len(), 1);
}

/// Rule: `tools/list` shows only the tools the caller's token allows (`tool_allow`,
/// narrowed further by an attenuated child, `tool_deny`); without a token in dev mode
/// every tool; a filtered `public` list becomes `private`; strict mode needs a token.
/// `initialize` advertises only the capabilities the gateway relays.
pub async fn tools_list_is_filtered_by_the_token(backend: Backend) {
    let (gw, up) = with_upstream(
        backend,
        |seen: &Seen| match method_of(seen).as_str() {
            "initialize" => Reply::json(INIT_RESULT),
            _ => Reply::json(
                r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"read_invoice"},{"name":"send_email"},{"name":"slow_count"}],"cacheScope":"public"}}"#,
            ),
        },
        &[],
    )
    .await;
    let list = rpc(json!(3), "tools/list", json!({}));
    let listed = |token: Option<String>| {
        let (gw, list) = (&gw, &list);
        async move { post(gw, list, token.as_deref(), &[]).await.json() }
    };
    let all = listed(None).await;
    assert_eq!(names(&all), ["read_invoice", "send_email", "slow_count"]);
    assert_eq!(all["result"]["cacheScope"], "public", "nothing removed");

    let allow = mint(
        "agent-a",
        "acme",
        vec![Caveat::tool_allow(vec![
            "read_invoice".into(),
            "slow_count".into(),
        ])],
    );
    let two = listed(Some(allow.clone())).await;
    assert_eq!(names(&two), ["read_invoice", "slow_count"]);
    assert_eq!(two["result"]["cacheScope"], "private");
    let child = attenuate(
        &decode(&allow).unwrap(),
        Caveat::tool_allow(vec!["read_invoice".into()]),
    )
    .unwrap()
    .encode();
    assert_eq!(names(&listed(Some(child)).await), ["read_invoice"]);
    let deny = mint(
        "agent-a",
        "acme",
        vec![Caveat::tool_deny(vec!["send_email".into()])],
    );
    assert_eq!(
        names(&listed(Some(deny)).await),
        ["read_invoice", "slow_count"]
    );

    let strict = TestGateway::start(
        backend,
        &[
            ("INTENTGATE_UPSTREAM_URL", up.url.as_str()),
            ("INTENTGATE_REQUIRE_CAPABILITY", "true"),
        ],
    )
    .await;
    let before = up.requests().len();
    let refused = post(&strict, &list, None, &[]).await.json();
    assert_eq!(refused["error"]["code"], -32010, "{refused}");
    assert_eq!(up.requests().len(), before, "not forwarded");

    let init = post(&gw, &initialize(), None, &[]).await.json();
    assert_eq!(capability_names(&init["result"]), ["logging", "tools"]);
    assert_eq!(init["result"]["protocolVersion"], "2025-11-25");
}

/// Rule: `resources/read` and `prompts/get` are relayed to the tool server and audited
/// (the method as the tool, allow at the upstream stage, the gateway's session id when
/// in one); with no tool server they are -32601 as before.
pub async fn data_methods_are_relayed_and_audited(backend: Backend) {
    let (gw, up) = with_upstream(
        backend,
        |seen: &Seen| match method_of(seen).as_str() {
            "initialize" => Streamed::json(INIT_RESULT).header(SESSION, UP_SESSION),
            "resources/read" => Streamed::json(
                r#"{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"file:///a","text":"A"}]}}"#,
            ),
            _ => Streamed::json(
                r#"{"jsonrpc":"2.0","id":1,"result":{"messages":[{"role":"user","content":{"type":"text","text":"hi"}}]}}"#,
            ),
        },
        &[],
    )
    .await;
    let token = mint("agent-r", "acme", vec![]);
    let sid = open_session(&gw, Some(&token)).await;
    let read = rpc(json!(2), "resources/read", json!({"uri":"file:///a"}));
    let r = post(&gw, &read, Some(&token), &[(SESSION, &sid)])
        .await
        .json();
    assert_eq!(
        (r["id"].clone(), r["result"]["contents"][0]["text"].clone()),
        (json!(2), json!("A")),
        "{r}"
    );
    assert_eq!(
        forwarded(&up, "resources/read")[0].header("mcp-session-id"),
        UP_SESSION
    );
    let get = rpc(
        json!(3),
        "prompts/get",
        json!({"name":"greet","arguments":{"who":"x"}}),
    );
    let r = post(&gw, &get, Some(&token), &[]).await.json();
    assert_eq!(r["result"]["messages"][0]["content"]["text"], "hi", "{r}");

    let events = gw.audit("acme").await;
    let of = |tool: &str| {
        events
            .iter()
            .map(|e| &e.event)
            .find(|e| e.tool == tool)
            .unwrap_or_else(|| panic!("no {tool} event"))
            .clone()
    };
    let read_event = of("resources/read");
    assert_eq!(
        (
            read_event.decision.as_str(),
            read_event.check.as_str(),
            read_event.session_id.as_str(),
            read_event.agent_id.as_str(),
            read_event.upstream_status,
        ),
        ("allow", "upstream", sid.as_str(), "agent-r", 200)
    );
    assert_eq!(read_event.arg_keys, ["uri"]);
    let get_event = of("prompts/get");
    assert_eq!(
        (
            get_event.decision.as_str(),
            get_event.check.as_str(),
            get_event.session_id.as_str()
        ),
        ("allow", "upstream", "")
    );

    let strict = TestGateway::start(
        backend,
        &[
            ("INTENTGATE_UPSTREAM_URL", up.url.as_str()),
            ("INTENTGATE_REQUIRE_CAPABILITY", "true"),
        ],
    )
    .await;
    let before = up.requests().len();
    let refused = post(&strict, &read, None, &[]).await.json();
    assert_eq!(refused["error"]["code"], -32010, "{refused}");
    assert_eq!(up.requests().len(), before, "not forwarded");
    let last = strict.audit("").await.pop().unwrap().event;
    assert_eq!(
        (last.tool.as_str(), last.decision.as_str()),
        ("resources/read", "block")
    );

    let bare = TestGateway::start(backend, &[]).await;
    for body in [read, get] {
        let r = post(&bare, &body, Some(&token), &[]).await.json();
        assert_eq!(r["error"]["code"], -32601, "{r}");
    }
}

/// Rule: a browser `Origin` that is neither loopback nor configured is refused with 403
/// on POST, GET and DELETE (nothing forwarded); loopback origins and the ones in
/// `INTENTGATE_MCP_ALLOWED_ORIGINS` pass.
pub async fn foreign_origins_are_refused(backend: Backend) {
    let (gw, up) = with_upstream(backend, session_server, &[]).await;
    let evil = [("Origin", "http://evil.example")];
    let refused = post(&gw, &call("read_invoice"), None, &evil).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    for method in ["GET", "DELETE"] {
        let headers = [evil[0], (SESSION, "some-session")];
        let refused = bodiless(&gw, method, None, &headers).await;
        assert_eq!(refused.status, 403, "{method}: {}", refused.text);
    }
    assert!(up.requests().is_empty(), "{:?}", up.requests());

    let local = [("Origin", "http://localhost:6274")];
    let ok = post(&gw, &call("read_invoice"), None, &local).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json()["result"]["content"][0]["text"], "ok");

    let console = "https://console.example.com";
    let listed = TestGateway::start(
        backend,
        &[
            ("INTENTGATE_UPSTREAM_URL", up.url.as_str()),
            ("INTENTGATE_MCP_ALLOWED_ORIGINS", console),
        ],
    )
    .await;
    let ok = post(&listed, &call("read_invoice"), None, &[("Origin", console)]).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let refused = post(&listed, &call("read_invoice"), None, &evil).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
}

/// Rule: a message the tool server sends ahead of its answer reaches a streaming client
/// when it is sent, not when the answer comes.
pub async fn progress_reaches_the_client_before_the_answer(backend: Backend) {
    let (gw, _up) = with_upstream(
        backend,
        |_| {
            Streamed::sse()
                .then(&event(PROGRESS))
                .after(Duration::from_millis(1500), &event(ANSWER))
        },
        &[],
    )
    .await;
    let started = Instant::now();
    let mut response = within(
        reqwest::Client::new()
            .post(format!("{}/v1/mcp", gw.url))
            .header("Accept", BOTH)
            .body(call("read_invoice"))
            .send(),
    )
    .await
    .unwrap();
    let first = within(response.chunk()).await.unwrap().unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "first bytes after {:?}",
        started.elapsed()
    );
    let first = String::from_utf8_lossy(&first).into_owned();
    assert_eq!(messages(&first)[0]["method"], "notifications/progress");
    let mut rest = String::new();
    while let Some(chunk) = within(response.chunk()).await.unwrap() {
        rest.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert_eq!(messages(&rest)[0]["result"]["content"][0]["text"], "ok");
}

/// Rule: a tool server that closes an answer's stream before the answer is resumed in
/// its session, as a stock client would: GET with `Last-Event-ID` after the `retry`
/// hint; the answer that comes on the resumed stream is the call's.
pub async fn a_closed_answer_stream_is_resumed_in_the_session(backend: Backend) {
    let (gw, up) = with_upstream(
        backend,
        |seen: &Seen| match (seen.method.as_str(), method_of(seen).as_str()) {
            ("POST", "initialize") => Streamed::json(INIT_RESULT).header(SESSION, UP_SESSION),
            ("POST", _) => Streamed::sse()
                .then("id: s-1\nretry: 200\ndata: \n\n")
                .then(&event(PROGRESS)),
            ("GET", _) => Streamed::sse().then("id: s-2\n").then(&event(ANSWER)),
            _ => Reply::new(405, "").into(),
        },
        &[],
    )
    .await;
    let token = mint("agent-a", "acme", vec![]);
    let sid = open_session(&gw, Some(&token)).await;
    let started = Instant::now();
    let r = post(&gw, &call("read_invoice"), Some(&token), &[(SESSION, &sid)])
        .await
        .json();
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "retry hint honoured"
    );
    assert_eq!(r["result"]["content"][0]["text"], "ok", "{r}");
    let resumed: Vec<Seen> = up
        .requests()
        .into_iter()
        .filter(|s| s.method == "GET")
        .collect();
    assert_eq!(resumed.len(), 1);
    assert_eq!(
        (
            resumed[0].header("last-event-id"),
            resumed[0].header("mcp-session-id")
        ),
        ("s-1", UP_SESSION)
    );

    // Outside a session there is nothing to resume: the call fails.
    let r = post(&gw, &call("read_invoice"), None, &[]).await.json();
    assert_eq!(r["error"]["message"], "upstream transport", "{r}");
}

/// Rule: a tool server that answers 404 in a session has forgotten it: the client gets
/// 404 (so it initializes again) and the gateway's session ends too.
pub async fn a_session_the_tool_server_lost_ends(backend: Backend) {
    let (gw, up) = with_upstream(
        backend,
        |seen: &Seen| match method_of(seen).as_str() {
            "initialize" => Streamed::json(INIT_RESULT).header(SESSION, UP_SESSION),
            _ => Reply::new(
                404,
                r#"{"jsonrpc":"2.0","id":"server-error","error":{"code":-32600,"message":"Session not found"}}"#,
            )
            .into(),
        },
        &[],
    )
    .await;
    let token = mint("agent-a", "acme", vec![]);
    let sid = open_session(&gw, Some(&token)).await;
    let session = [(SESSION, sid.as_str())];
    let lost = post(&gw, &call("read_invoice"), Some(&token), &session).await;
    assert_eq!(lost.status, 404, "{}", lost.text);
    let before = up.requests().len();
    let gone = post(&gw, &call("read_invoice"), Some(&token), &session).await;
    assert_eq!(gone.status, 404, "{}", gone.text);
    assert_eq!(up.requests().len(), before, "the session is gone here too");
}

/// Rule (2026-07-28): the headers must repeat the body, so `Mcp-Name` sent twice, once
/// with the body's tool and once with another, cannot pass: the tool server may route
/// by either value.
pub async fn a_repeated_mcp_name_header_is_a_mismatch(backend: Backend) {
    let (gw, up) = with_upstream(backend, |_| Reply::json(ANSWER), &[]).await;
    let headers = [
        ("MCP-Protocol-Version", "2026-07-28"),
        ("Mcp-Method", "tools/call"),
        ("Mcp-Name", "read_invoice"),
        ("Mcp-Name", "send_email"),
    ];
    let r = post(&gw, &stateless_call("read_invoice"), None, &headers).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["error"]["code"], -32020);
    assert!(up.requests().is_empty(), "{:?}", up.requests());
}

/// Rule: an unsupported `MCP-Protocol-Version` is 400 on every request to the endpoint
/// (the transport spec), GET and DELETE included: it is not passed to the tool server,
/// and the session is not ended.
pub async fn get_and_delete_check_the_protocol_version(backend: Backend) {
    let (gw, up) = with_upstream(backend, session_server, &[]).await;
    let token = mint("agent-a", "acme", vec![]);
    let sid = open_session(&gw, Some(&token)).await;
    let before = up.requests().len();
    let headers = [
        (SESSION, sid.as_str()),
        ("MCP-Protocol-Version", "1900-01-01"),
    ];
    for method in ["GET", "DELETE"] {
        let refused = bodiless(&gw, method, Some(&token), &headers).await;
        assert_eq!(refused.status, 400, "{method}: {}", refused.text);
    }
    assert_eq!(up.requests().len(), before, "{:?}", up.requests());
    let still = post(&gw, &call("read_invoice"), Some(&token), &[(SESSION, &sid)]).await;
    assert_eq!(still.status, 200, "{}", still.text);
}

/// Strict mode: no anonymous caller opens a session or reaches the tool server;
/// `ping` stays open, as the reference's liveness probe.
pub async fn strict_mode_needs_a_token_for_everything_but_ping(backend: Backend) {
    let (gw, up) = with_upstream(
        backend,
        session_server,
        &[("INTENTGATE_REQUIRE_CAPABILITY", "true")],
    )
    .await;
    let init = post(&gw, &initialize(), None, &[]).await;
    assert_eq!(init.status, 200, "{}", init.text);
    assert_eq!(init.json()["error"]["code"], -32010, "{}", init.text);
    assert!(
        init.header(SESSION).is_empty(),
        "no session without a token"
    );
    let note = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    assert_eq!(post(&gw, note, None, &[]).await.status, 401);
    // A data method sent as a notification cannot carry an error: 401 and, like every
    // refused notification, no audit record. Sent as a request it is refused and audited.
    let data_note = r#"{"jsonrpc":"2.0","method":"resources/list"}"#;
    assert_eq!(post(&gw, data_note, None, &[]).await.status, 401);
    assert!(
        gw.audit("").await.is_empty(),
        "a refused notification is not audited"
    );
    let data_request = rpc(json!(3), "resources/list", json!({}));
    let refused = post(&gw, &data_request, None, &[]).await;
    assert_eq!(refused.json()["error"]["code"], -32010, "{}", refused.text);
    assert_eq!(gw.audit("").await.len(), 1);
    assert!(
        up.requests().is_empty(),
        "nothing anonymous reached the tool server"
    );
    let ping = post(&gw, &rpc(json!(2), "ping", json!({})), None, &[]).await;
    assert!(ping.json().get("result").is_some(), "{}", ping.text);
    let token = mint("agent-a", "acme", vec![]);
    open_session(&gw, Some(&token)).await;
}

/// Rule: the tool server receives the message the gateway read, never the bytes as
/// sent. The gateway reads keys as Go does (case-insensitive, last wins); a tool server
/// that reads the exact key must not be able to see another method, another tool or a
/// request hidden in a client's answer.
pub async fn disguised_messages_reach_the_tool_server_as_the_gateway_read_them(backend: Backend) {
    let (gw, up) = with_upstream(backend, |_| Streamed::json(ANSWER), &[]).await;
    let ping_outside = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"send_email","arguments":{}},"Method":"ping"}"#;
    post(&gw, ping_outside, None, &[]).await;
    let answer_outside = r#"{"jsonrpc":"2.0","id":"srv-1","method":"tools/call","params":{"name":"send_email"},"result":{},"METHOD":""}"#;
    assert_eq!(post(&gw, answer_outside, None, &[]).await.status, 202);
    let seen = up.requests();
    assert_eq!(seen.len(), 2, "{seen:?}");
    for s in &seen {
        assert!(
            !s.body.contains("tools/call"),
            "a disguised call got through: {}",
            s.body
        );
    }
    assert_eq!(method_of(&seen[0]), "ping");

    let twice = rpc(json!(3), "tools/call", json!({})).replace(
        r#""params":{}"#,
        r#""params":{"name":"send_email","Name":"read_invoice"}"#,
    );
    let refused = post(&gw, &twice, None, &[]).await.json();
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    assert_eq!(up.requests().len(), 2, "an ambiguous call is not forwarded");
}

/// Rule: `Mcp-Name` is compared with the tool the pipeline checks, not with another
/// member (`uri`) a tool call may also carry; data methods sent without an id (which
/// would have no answer to audit) are not forwarded.
pub async fn the_name_header_is_checked_against_the_checked_tool(backend: Backend) {
    let (gw, up) = with_upstream(backend, |_| Streamed::json(ANSWER), &[]).await;
    let body = rpc(
        json!(1),
        "tools/call",
        json!({"uri":"read_invoice","name":"send_email","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}),
    );
    let headers = [
        ("MCP-Protocol-Version", "2026-07-28"),
        ("Mcp-Method", "tools/call"),
        ("Mcp-Name", "read_invoice"),
    ];
    let refused = post(&gw, &body, None, &headers).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(refused.json()["error"]["code"], -32020);
    let unaudited = r#"{"jsonrpc":"2.0","method":"resources/read","params":{"uri":"file:///x"}}"#;
    assert_eq!(post(&gw, unaudited, None, &[]).await.status, 202);
    assert!(up.requests().is_empty(), "{:?}", up.requests());
}

/// Rule: what a relayed data method read (its URI) is recorded as a call's argument
/// values are, under INTENTGATE_AUDIT_PERSIST_ARG_VALUES; off by default.
pub async fn what_was_read_is_recorded_as_arguments_are(backend: Backend) {
    let answer = r#"{"jsonrpc":"2.0","id":1,"result":{"contents":[]}}"#;
    let read = rpc(json!(1), "resources/read", json!({"uri":"file:///payroll"}));
    for (mode, recorded) in [
        ("off", None),
        ("raw", Some(json!({"uri":"file:///payroll"}))),
    ] {
        let env = [("INTENTGATE_AUDIT_PERSIST_ARG_VALUES", mode)];
        let (gw, _up) = with_upstream(backend, move |_| Streamed::json(answer), &env).await;
        post(&gw, &read, None, &[]).await;
        let event = gw.audit("").await.pop().unwrap().event;
        assert_eq!(event.tool, "resources/read");
        assert_eq!(event.arg_keys, ["uri"]);
        assert_eq!(event.arg_values, recorded, "mode {mode}");
    }
}

/// Rule: one caller holds at most `MAX_SESSIONS_PER_CALLER` sessions; opening another
/// ends its oldest, here and on the tool server, and other callers keep theirs.
pub async fn a_caller_that_never_ends_sessions_cannot_fill_the_store(backend: Backend) {
    use intentgate::app::mcp::MAX_SESSIONS_PER_CALLER;
    let (gw, up) = with_upstream(backend, session_server, &[]).await;
    let (token, other) = (
        mint("agent-a", "acme", vec![]),
        mint("agent-b", "acme", vec![]),
    );
    let others = open_session(&gw, Some(&other)).await;
    let oldest = open_session(&gw, Some(&token)).await;
    for _ in 0..MAX_SESSIONS_PER_CALLER {
        open_session(&gw, Some(&token)).await;
    }
    let ping = rpc(json!(9), "ping", json!({}));
    let gone = post(&gw, &ping, Some(&token), &[(SESSION, &oldest)]).await;
    assert_eq!(
        gone.status, 404,
        "the oldest session was ended: {}",
        gone.text
    );
    let kept = post(&gw, &ping, Some(&other), &[(SESSION, &others)]).await;
    assert_eq!(
        kept.status, 200,
        "another caller's session stays: {}",
        kept.text
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while !up.requests().iter().any(|s| s.method == "DELETE") {
        assert!(
            Instant::now() < deadline,
            "the tool server's session was not ended"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

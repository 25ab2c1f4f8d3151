//! §14.1 Envelope.

use crate::support::Backend;
use serde_json::{Value, json};

use crate::support::{FakeServer, Reply, TestGateway};

async fn raw(gw: &TestGateway, body: &str) -> (u16, String) {
    gw.post_raw(body.to_owned(), &[]).await
}

pub async fn s01_to_s03_local_fallbacks_without_upstream(backend: Backend) {
    let gw = TestGateway::start(backend, &[]).await;
    let (_, ping) = raw(&gw, r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#).await;
    assert_eq!(ping, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n");
    let (_, init) = raw(&gw, r#"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#).await;
    assert_eq!(
        init,
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"protocolVersion\":\"2025-03-26\",\"serverInfo\":{\"name\":\"intentgate\",\"version\":\"0.2\"},\"capabilities\":{\"tools\":{}}}}\n"
    );
    let (_, list) = raw(&gw, r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#).await;
    assert_eq!(
        list,
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[]}}\n"
    );
}

pub async fn s04_s05_tools_list_passes_through_to_upstream(backend: Backend) {
    let up = FakeServer::start(|seen| {
        if seen.body.contains("tools/list") {
            Reply::json(r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"read_invoice"}]}}"#)
        } else {
            Reply {
                status: 503,
                body: String::new(),
                delay: std::time::Duration::ZERO,
            }
        }
    })
    .await;
    let gw = TestGateway::start(backend, &[("INTENTGATE_UPSTREAM_URL", &up.url)]).await;
    let list = gw
        .rpc(&json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}), &[])
        .await;
    assert_eq!(list["result"]["tools"][0]["name"], "read_invoice");
    assert!(list["result"].get("_intentgate").is_none());
    assert!(up.requests()[0].body.contains("\"method\":\"tools/list\""));
    let ping = gw
        .rpc(&json!({"jsonrpc":"2.0","id":1,"method":"ping"}), &[])
        .await;
    assert_eq!(ping["error"]["code"], -32603);
    assert_eq!(ping["error"]["message"], "upstream upstream_http");
    assert_eq!(
        ping["error"]["data"],
        json!({"detail":"upstream HTTP 503","upstream_status":503})
    );
}

pub async fn s06_s07_unknown_methods(backend: Backend) {
    let gw = TestGateway::start(backend, &[]).await;
    let r = gw
        .rpc(
            &json!({"jsonrpc":"2.0","id":1,"method":"totally/unknown"}),
            &[],
        )
        .await;
    assert_eq!(
        r["error"],
        json!({"code":-32601,"message":"method not implemented in v0.1: totally/unknown"})
    );
    // The reference answered 204; the MCP transport says 202 for every notification.
    let (status, body) = raw(&gw, r#"{"jsonrpc":"2.0","method":"totally/unknown"}"#).await;
    assert_eq!((status, body.as_str()), (202, ""));
}

pub async fn s08_s09_batches_and_garbage_are_parse_errors(backend: Backend) {
    let gw = TestGateway::start(backend, &[]).await;
    let (_, batch) = raw(&gw, r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#).await;
    assert_eq!(
        batch,
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"invalid JSON\",\"data\":\"json: cannot unmarshal array into Go value of type mcp.Request\"}}\n"
    );
    let (_, garbage) = raw(&gw, "xx").await;
    let v: Value = serde_json::from_str(&garbage).unwrap();
    assert_eq!(
        v["error"]["data"],
        "invalid character 'x' looking for beginning of value"
    );
    assert_eq!(v["id"], Value::Null);
}

pub async fn s10_to_s13_validation_and_ids(backend: Backend) {
    let gw = TestGateway::start(backend, &[]).await;
    let (_, v1) = raw(&gw, r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#).await;
    assert_eq!(
        v1,
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32600,\"message\":\"\\\"jsonrpc\\\" field must be \\\"2.0\\\"\"}}\n"
    );
    let (status, no_id) = raw(&gw, r#"{"jsonrpc":"1.0","method":"ping"}"#).await;
    assert_eq!(
        status, 200,
        "validation errors are answered even for notifications"
    );
    assert!(no_id.contains("\"id\":null"));
    let (_, no_method) = raw(&gw, r#"{"jsonrpc":"2.0","id":1}"#).await;
    assert!(no_method.contains("\\\"method\\\" field is required"));
    let (_, null_id) = raw(&gw, r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#).await;
    assert_eq!(null_id, "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":{}}\n");
    let (_, string_id) = raw(&gw, r#"{"jsonrpc":"2.0","id":"abc-123","method":"nope"}"#).await;
    assert!(string_id.starts_with("{\"jsonrpc\":\"2.0\",\"id\":\"abc-123\","));
}

pub async fn s14_oversized_body(backend: Backend) {
    let gw = TestGateway::start(backend, &[]).await;
    let body = vec![b' '; (1 << 20) + 1];
    let (status, text) = gw.post_raw(body, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        text,
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"failed to read request body\",\"data\":\"http: request body too large\"}}\n"
    );
}

pub async fn s15_tools_call_params_errors(backend: Backend) {
    let gw = TestGateway::start(backend, &[]).await;
    let (_, absent) = raw(&gw, r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#).await;
    assert!(absent.contains(r#""code":-32602,"message":"invalid tools/call params","data":"unexpected end of JSON input""#), "{absent}");
    let (_, null) = raw(
        &gw,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":null}"#,
    )
    .await;
    assert!(
        null.contains(r#"{"code":-32602,"message":"params.name is required"}"#),
        "{null}"
    );
    let (_, array_args) = raw(
        &gw,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":[1]}}"#,
    )
    .await;
    assert!(array_args.contains("invalid tools/call params"));
    assert!(
        gw.audit("").await.is_empty(),
        "no audit event for envelope errors"
    );
}

pub async fn s16_methods_and_health(backend: Backend) {
    let gw = TestGateway::start(backend, &[]).await;
    let resp = gw.get("/v1/mcp").await;
    assert_eq!(resp.status().as_u16(), 405);
    assert_eq!(resp.headers()["allow"], "POST");
    let health = gw.get("/healthz").await;
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(health.headers()["content-type"], "application/json");
    let body: Value = serde_json::from_str(&health.text().await.unwrap()).unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(gw.get("/v1/mcp/").await.status().as_u16(), 404);
    let ready = gw.get("/readyz").await;
    assert_eq!(ready.status().as_u16(), 200);
}

pub async fn s17_legacy_tool_call_stub(backend: Backend) {
    let gw = TestGateway::start(backend, &[]).await;
    let client = reqwest::Client::new();
    let post = |body: &'static str| {
        client
            .post(format!("{}/v1/tool-call", gw.url))
            .body(body)
            .send()
    };
    let missing = post("{}").await.unwrap();
    assert_eq!(missing.status().as_u16(), 400);
    assert_eq!(
        missing.text().await.unwrap(),
        "{\"detail\":\"tool field is required\",\"error\":\"missing_tool\"}\n"
    );
    let ok = post(r#"{"tool":"read_invoice"}"#)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The bytes of the reference's answer; the latency is whatever the call took (0
    // ms unless the machine is busy: the whole suite runs at once).
    let latency = ok
        .strip_prefix(
            "{\"decision\":\"allow\",\"reason\":\"stub: pipeline not implemented\",\"latency_ms\":",
        )
        .and_then(|rest| rest.strip_suffix("}\n"));
    assert!(latency.is_some_and(|ms| ms.parse::<u64>().is_ok()), "{ok}");
    let bad = post("nope").await.unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("\"error\":\"invalid_json\"")
    );
}

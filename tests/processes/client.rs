//! What the tests send to a gateway process: `tools/call` requests, built in one place,
//! and reads of the admin API.

use serde_json::{Value, json};

use super::Gateway;

/// The admin token of gateways started with `INTENTGATE_ADMIN_TOKEN`.
pub const ADMIN_TOKEN: &str = "outage-admin-token-0123456789";

/// A `tools/call` of `tool` with argument `n` (also its JSON-RPC id), ready to send.
pub fn tools_call(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    tool: &str,
    n: u64,
) -> reqwest::RequestBuilder {
    let body = json!({"jsonrpc":"2.0","id":n,"method":"tools/call",
        "params":{"name":tool,"arguments":{"n":n}}});
    client
        .post(format!("{url}/v1/mcp"))
        .bearer_auth(token)
        .body(body.to_string())
}

/// One `read_invoice` call with argument `n`; true when allowed, `None` when the
/// gateway could not be reached.
pub async fn call(client: &reqwest::Client, url: &str, token: &str, n: u64) -> Option<bool> {
    let resp = tools_call(client, url, token, "read_invoice", n)
        .send()
        .await
        .ok()?;
    let text = resp.text().await.ok()?;
    Some(text.contains("\"result\""))
}

/// `GET path` on the admin API, as JSON.
pub async fn admin_get(gateway: &Gateway, path: &str) -> Value {
    let text = reqwest::Client::new()
        .get(format!("{}{path}", gateway.url))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The acme tenant's audit events, newest first, through the admin API.
pub async fn audit_events(gateway: &Gateway) -> Vec<Value> {
    let page = admin_get(gateway, "/v1/admin/audit?tenant=acme&limit=1000").await;
    page["events"].as_array().cloned().unwrap_or_default()
}

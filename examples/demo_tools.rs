//! A tiny MCP tool server for trying the gateway: `tools/list` and `tools/call` for
//! `read_invoice` and `transfer_funds`, over JSON-RPC on `POST /`.
//!
//! ```sh
//! cargo run --example demo_tools            # listens on 127.0.0.1:9000 (DEMO_ADDR to change)
//! ```

use poem::listener::TcpListener;
use poem::web::Json;
use poem::{Route, Server, handler, post};
use serde_json::{Value, json};

#[handler]
fn rpc(Json(req): Json<Value>) -> Json<Value> {
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let result = match req["method"].as_str().unwrap_or_default() {
        "initialize" => json!({
            "protocolVersion": "2025-03-26",
            "serverInfo": {"name": "demo-tools", "version": "1.0"},
            "capabilities": {"tools": {}}
        }),
        "tools/list" => json!({"tools": [
            {"name": "read_invoice", "description": "Read an invoice by id",
             "inputSchema": {"type": "object", "properties": {"id": {"type": "string"}}}},
            {"name": "transfer_funds", "description": "Move money",
             "inputSchema": {"type": "object", "properties": {"amount_eur": {"type": "number"}}}}
        ]}),
        "tools/call" => call(&req["params"]),
        "ping" => json!({}),
        other => {
            let error = json!({"code": -32601, "message": format!("unknown method {other}")});
            return Json(json!({"jsonrpc": "2.0", "id": id, "error": error}));
        }
    };
    Json(json!({"jsonrpc": "2.0", "id": id, "result": result}))
}

fn call(params: &Value) -> Value {
    let args = &params["arguments"];
    let text = match params["name"].as_str().unwrap_or_default() {
        "read_invoice" => format!("invoice {}: 1,240.00 EUR, due 2026-12-01", args["id"]),
        "transfer_funds" => format!("transferred {} EUR", args["amount_eur"]),
        other => {
            return json!({"content": [{"type": "text", "text": format!("no tool {other}")}], "isError": true});
        }
    };
    json!({"content": [{"type": "text", "text": text}], "isError": false})
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::var("DEMO_ADDR").unwrap_or_else(|_| "127.0.0.1:9000".into());
    println!("demo MCP tool server on http://{addr}");
    Server::new(TcpListener::bind(addr))
        .run(Route::new().at("/", post(rpc)))
        .await
}

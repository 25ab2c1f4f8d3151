//! Liveness and readiness.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::Data;
use poem::{Response, handler};

use super::{VERSION, json_response};
use crate::app::Gateway;
use crate::domain::gojson::ObjectWriter;

/// Liveness: always 200 `{"status":"ok","version":…}` (the reference's shape).
#[handler]
pub fn health() -> Response {
    let mut body = String::new();
    let mut w = ObjectWriter::new(&mut body);
    w.str("status", "ok").str("version", VERSION);
    w.finish();
    body.push('\n');
    json_response(StatusCode::OK, body)
}

/// Readiness: 200 when the store answers, 503 otherwise.
#[handler]
pub async fn ready(gateway: Data<&Arc<Gateway>>) -> Response {
    let probe = gateway.stores.audit.head("default").await;
    let mut body = String::new();
    let mut w = ObjectWriter::new(&mut body);
    w.str("store", gateway.stores.backend);
    let status = match &probe {
        Ok(_) => {
            w.str("status", "ready");
            StatusCode::OK
        }
        Err(e) => {
            w.str("status", "unavailable").str("error", &e.to_string());
            StatusCode::SERVICE_UNAVAILABLE
        }
    };
    w.finish();
    body.push('\n');
    json_response(status, body)
}

/// Prometheus exposition (only routed when `INTENTGATE_METRICS_ENABLED=true`).
#[handler]
pub fn metrics(gateway: Data<&Arc<Gateway>>) -> Response {
    let Some(handle) = crate::adapters::metrics::install() else {
        return Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .body("metrics recorder unavailable\n");
    };
    let age = gateway
        .audit
        .last_commit()
        .map(|t| (gateway.clock.now().unix_nanos() - t.unix_nanos()) as f64 / 1e9);
    Response::builder()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(crate::adapters::metrics::render(handle, age))
}

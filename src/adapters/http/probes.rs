//! Liveness, readiness and the Prometheus exposition, in the OpenAPI document like
//! every other route.

use std::sync::Arc;

use poem::Response;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::registry::Registry;
use poem_openapi::types::Type;
use poem_openapi::{Object, OpenApi};

use super::VERSION;
use super::documented::{Body, Documented, Statuses};
use super::tags::ApiTags;
use super::wire::json_response;
use crate::app::{Gateway, IssuerStatus};
use crate::domain::gojson::ObjectWriter;

/// `GET /healthz`.
#[derive(Object)]
pub struct HealthResponse {
    /// Always `ok`.
    pub status: String,
    pub version: String,
}

/// `GET /readyz`.
#[derive(Object)]
pub struct ReadinessResponse {
    /// `ready` or `unavailable`.
    pub status: String,
    /// The storage backend: `memory`, `sled` or `postgres`.
    pub store: String,
    /// Why the store did not answer.
    pub error: Option<String>,
    /// With OAuth sign-in: each trusted issuer's signing keys. An issuer without keys
    /// is reported, not a reason to be unready: its tokens are refused, every other
    /// caller is served.
    pub oauth_issuers: Option<Vec<IssuerReadiness>>,
}

/// One trusted authorization server, as `/readyz` reports it.
#[derive(Object)]
pub struct IssuerReadiness {
    pub issuer: String,
    /// `ready` (keys held) or `unavailable` (none yet).
    pub status: String,
    /// How many signing keys are held.
    pub keys: u64,
    /// When its keys were last fetched (RFC 3339).
    pub loaded_at: Option<String>,
    /// Why the last fetch failed.
    pub error: Option<String>,
}

/// GET `/healthz`.
pub struct HealthStatuses;

impl Statuses for HealthStatuses {
    const LIST: &'static [(u16, &'static str, Body)] = &[(
        200,
        "The process is alive",
        Body::Json(HealthResponse::schema_ref),
    )];

    fn register(registry: &mut Registry) {
        HealthResponse::register(registry);
    }
}

/// GET `/readyz`.
pub struct ReadyStatuses;

impl Statuses for ReadyStatuses {
    const LIST: &'static [(u16, &'static str, Body)] = &[
        (
            200,
            "The store answers",
            Body::Json(ReadinessResponse::schema_ref),
        ),
        (
            503,
            "The store does not answer",
            Body::Json(ReadinessResponse::schema_ref),
        ),
    ];

    fn register(registry: &mut Registry) {
        ReadinessResponse::register(registry);
        IssuerReadiness::register(registry);
    }
}

/// GET `/metrics`.
pub struct MetricsStatuses;

impl Statuses for MetricsStatuses {
    const LIST: &'static [(u16, &'static str, Body)] = &[
        (200, "Prometheus text exposition", Body::Text),
        (404, "INTENTGATE_METRICS_ENABLED is not true", Body::Text),
        (
            503,
            "The metrics recorder could not be installed",
            Body::Text,
        ),
    ];

    fn register(_: &mut Registry) {}
}

pub struct ProbesApi;

#[OpenApi(tag = "ApiTags::Operations")]
impl ProbesApi {
    /// Liveness: always 200.
    #[oai(path = "/healthz", method = "get", operation_id = "health")]
    async fn healthz(&self) -> Documented<HealthStatuses> {
        Documented::new(health())
    }

    /// Readiness: 200 when the store answers, 503 otherwise.
    #[oai(path = "/readyz", method = "get", operation_id = "ready")]
    async fn readyz(&self, gateway: Data<&Arc<Gateway>>) -> Documented<ReadyStatuses> {
        Documented::new(ready(&gateway).await)
    }

    /// Prometheus metrics, when `INTENTGATE_METRICS_ENABLED=true`.
    #[oai(path = "/metrics", method = "get", operation_id = "metrics")]
    async fn metrics(&self, gateway: Data<&Arc<Gateway>>) -> Documented<MetricsStatuses> {
        Documented::new(metrics(&gateway))
    }
}

/// Liveness: always 200 `{"status":"ok","version":…}` (the reference's shape).
fn health() -> Response {
    let mut body = String::new();
    let mut w = ObjectWriter::new(&mut body);
    w.str("status", "ok").str("version", VERSION);
    w.finish();
    body.push('\n');
    json_response(StatusCode::OK, body)
}

/// Readiness: 200 when the store answers, 503 otherwise; with OAuth sign-in, each
/// issuer's keys are reported too.
async fn ready(gateway: &Gateway) -> Response {
    let probe = gateway.stores.audit.head("default").await;
    let issuers = gateway
        .access_tokens
        .as_ref()
        .map(|tokens| tokens.status())
        .unwrap_or_default();
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
    if !issuers.is_empty() {
        w.raw("oauth_issuers", &issuers_json(&issuers));
    }
    w.finish();
    body.push('\n');
    json_response(status, body)
}

fn issuers_json(issuers: &[IssuerStatus]) -> String {
    let items: Vec<String> = issuers
        .iter()
        .map(|i| {
            let mut item = String::new();
            let mut w = ObjectWriter::new(&mut item);
            w.str("issuer", &i.issuer);
            w.str("status", if i.keys > 0 { "ready" } else { "unavailable" });
            w.int("keys", i64::try_from(i.keys).unwrap_or(i64::MAX));
            if let Some(at) = i.loaded_at {
                w.str("loaded_at", &at.to_rfc3339_nano());
            }
            if let Some(error) = &i.error {
                w.str("error", error);
            }
            w.finish();
            item
        })
        .collect();
    format!("[{}]", items.join(","))
}

/// Prometheus exposition when `INTENTGATE_METRICS_ENABLED=true`; otherwise the route
/// does not exist (the mux's 404, as in the reference).
fn metrics(gateway: &Gateway) -> Response {
    if !gateway.metrics_enabled {
        return Response::builder()
            .status(StatusCode::NOT_FOUND)
            .content_type("text/plain; charset=utf-8")
            .body("404 page not found\n");
    }
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

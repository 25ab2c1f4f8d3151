//! The server: every route, the middleware around them (request log, Go's mux answers
//! for unknown paths and methods, panics), and the serve loop.
//!
//! No server-wide write timeout: a call may legitimately wait minutes for a human
//! approval or a slow upstream, and each of those waits has its own bound.

use std::future::Future;
use std::sync::Arc;

use poem::http::{Method, StatusCode, header};
use poem::listener::{Acceptor, TcpAcceptor};
use poem::{
    Body, Endpoint, EndpointExt, IntoEndpoint, IntoResponse, Request, Response, Route, Server,
};

use super::data_plane::McpPost;
use super::openapi::{self, allowed_methods};
use super::wire::json_response;
use super::{DOCS_PATH, OPENAPI_PATH, SHUTDOWN_GRACE, VERSION};
use crate::app::Gateway;

/// Every route: probes, documentation, and the OpenAPI service (data plane, plus the
/// admin API when an admin token is configured; otherwise its paths are plain 404s).
pub fn routes(gateway: Arc<Gateway>) -> impl Endpoint<Output = Response> {
    let service = openapi::service(VERSION);
    let docs = service.swagger_ui();
    let document = openapi::document(VERSION);
    let spec = poem::endpoint::make_sync(move |_| json_response(StatusCode::OK, document.clone()));
    let metrics = gateway.metrics_enabled;
    let service = Arc::new(service.into_endpoint());
    let mcp = McpPost {
        documented: Arc::clone(&service),
    };
    Route::new()
        .at(OPENAPI_PATH, only(&[Method::GET, Method::HEAD], spec))
        .nest(DOCS_PATH, docs)
        .at("/v1/mcp", mcp)
        .nest_no_strip("/", service)
        .data(gateway)
        .around(go_mux_errors)
        .with(poem::middleware::CatchPanic::new().with_handler(internal_error))
        .around(log_request)
        .with_if(metrics, crate::adapters::metrics::RecordHttp)
        .map_to_response()
}

/// A panic answers as the reference's recoverer does (and is logged), never by
/// dropping the connection.
fn internal_error(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("request handler panicked");
    text_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "{\"error\":\"internal_error\"}\n",
    )
}

/// One span per request, with a field per check stage that the pipeline fills in,
/// and one line when it ends with status and latency (the reference's request log).
/// That line is `debug`: every decision is already in the audit log, and a line per
/// call on stderr costs more than the rest of the request at full load. The log
/// formats a span's fields as it opens; the client's address is formatted only when
/// that line or exported traces will show it (a warning inside a request names its
/// method and path either way).
async fn log_request<E: Endpoint>(next: Arc<E>, req: Request) -> poem::Result<Response> {
    use tracing::Instrument as _;
    let span = tracing::info_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
        remote = tracing::field::Empty,
        capability = tracing::field::Empty,
        intent = tracing::field::Empty,
        policy = tracing::field::Empty,
        budget = tracing::field::Empty,
        status = tracing::field::Empty,
    );
    let fields_wanted = crate::instruments::request_fields_wanted();
    if fields_wanted {
        span.record("remote", tracing::field::display(req.remote_addr()));
    }
    let started = std::time::Instant::now();
    let result = next
        .call(req)
        .instrument(span.clone())
        .await
        .map(IntoResponse::into_response);
    let status = match &result {
        Ok(r) => r.status().as_u16(),
        Err(e) => e.status().as_u16(),
    };
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    if fields_wanted {
        span.record("status", status);
    }
    span.in_scope(|| tracing::debug!(status, latency_ms, "request"));
    result
}

/// Routing failures answered as Go's mux does: text 404, and 405 with `Allow`.
async fn go_mux_errors<E: Endpoint>(next: Arc<E>, req: Request) -> poem::Result<Response> {
    let path = req.uri().path().to_owned();
    match next.call(req).await {
        Ok(r) => Ok(r.into_response()),
        Err(e) if e.is::<poem::error::NotFoundError>() => {
            Ok(text_response(StatusCode::NOT_FOUND, "404 page not found\n"))
        }
        Err(e) if e.is::<poem::error::MethodNotAllowedError>() => {
            let mut r = text_response(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
            if let Some(v) = allowed_methods(&path).and_then(|m| m.parse().ok()) {
                r.headers_mut().insert(header::ALLOW, v);
            }
            Ok(r)
        }
        Err(e) => Err(e),
    }
}

/// Wraps a handler so other methods get Go's mux answer: 405 with `Allow`.
fn only<E: IntoEndpoint>(methods: &'static [Method], ep: E) -> Only<E::Endpoint> {
    Only {
        methods,
        inner: ep.into_endpoint(),
    }
}

struct Only<E> {
    methods: &'static [Method],
    inner: E,
}

impl<E: Endpoint> Endpoint for Only<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        if self.methods.contains(req.method()) {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        }
        let allow: Vec<&str> = self.methods.iter().map(Method::as_str).collect();
        let mut r = text_response(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
        if let Ok(v) = allow.join(", ").parse() {
            r.headers_mut().insert(header::ALLOW, v);
        }
        Ok(r)
    }
}

fn text_response(status: StatusCode, body: &'static str) -> Response {
    Response::builder()
        .status(status)
        .content_type("text/plain; charset=utf-8")
        .body(Body::from_string(body.to_owned()))
}

/// Serves until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    acceptor: TcpAcceptor,
    gateway: Arc<Gateway>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let addrs: Vec<String> = acceptor
        .local_addr()
        .iter()
        .map(|a| a.to_string())
        .collect();
    tracing::info!(addr = ?addrs, "intentgate listening");
    Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(routes(gateway), shutdown, Some(SHUTDOWN_GRACE))
        .await
}

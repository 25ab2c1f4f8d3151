//! The inbound HTTP adapter (poem): the data-plane routes and the server loop.
//!
//! No server-wide write timeout: a call may legitimately wait minutes for a human
//! approval or a slow upstream, and each of those waits has its own bound.

mod mcp;
mod probes;
mod tool_call;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use poem::http::{Method, StatusCode, header};
use poem::listener::{Acceptor, TcpAcceptor};
use poem::{
    Body, Endpoint, EndpointExt, IntoEndpoint, IntoResponse, Request, Response, Route, Server,
};

use crate::app::Gateway;

/// Largest request body on the data plane.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// How long shutdown waits for in-flight requests.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(15);

/// Build version reported by `/healthz`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The data-plane routes.
pub fn routes(gateway: Arc<Gateway>) -> impl Endpoint<Output = Response> {
    Route::new()
        .at(
            "/healthz",
            only(&[Method::GET, Method::HEAD], probes::health),
        )
        .at("/readyz", only(&[Method::GET, Method::HEAD], probes::ready))
        .at("/v1/mcp", only(&[Method::POST], mcp::handle))
        .at("/v1/tool-call", only(&[Method::POST], tool_call::handle))
        .data(gateway)
        .catch_error(|_: poem::error::NotFoundError| async move {
            text_response(StatusCode::NOT_FOUND, "404 page not found\n")
        })
        .map_to_response()
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

/// A JSON body (already encoded, newline included).
fn json_response(status: StatusCode, body: String) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(body)
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

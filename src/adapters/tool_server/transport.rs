//! How requests reach the tool server: hyper's pooled client straight to it, reqwest
//! where reqwest's layers earn their cost.
//!
//! reqwest's layers above hyper's client (redirect and retry services, URL conversions,
//! timeout wrappers) cost more per forward than the rest of a bare proxy's forward
//! (BENCHMARKS.md), and a tool server at its final URL needs none of them. reqwest is
//! still used where it does what hyper's client does not: when the environment names a
//! proxy for the tool server's URL (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, less
//! `NO_PROXY`; reqwest reads the same variables), and to follow a redirect, as Go's
//! client and reqwest always did (e.g. `/mcp` redirected to `/mcp/`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper_tls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::UpstreamClientError;

pub(super) type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// A response body from either client.
pub(super) type AnswerBody = Either<hyper::body::Incoming, reqwest::Body>;
type Direct = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// TCP keep-alive probes and the time unacknowledged data may wait, as reqwest sets
/// them: a tool server that vanished is noticed in about 30 s, not when the kernel
/// gives up (minutes), even on a session's open GET stream, which has no deadline.
const KEEPALIVE: Duration = Duration::from_secs(15);
const KEEPALIVE_RETRIES: u32 = 3;
const USER_TIMEOUT: Duration = Duration::from_secs(30);

pub(super) struct Transport {
    /// `None` when a proxy is configured for the tool server.
    direct: Option<Box<Direct>>,
    /// The `Host` header hyper's client would build for every request (its
    /// `or_insert_with` formats it anew each time): built once, for the direct client
    /// only, since reqwest sends a followed redirect elsewhere.
    host: Option<http::HeaderValue>,
    full: reqwest::Client,
    /// Set once the tool server answered with a redirect: calls go through reqwest.
    redirects: AtomicBool,
}

impl Transport {
    /// `proxies`: what the environment says (`Matcher::from_env`), read once here.
    pub fn new(
        uri: &http::Uri,
        connect_timeout: Duration,
        proxies: &Matcher,
    ) -> Result<Self, UpstreamClientError> {
        let full = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .build()?;
        let direct = match proxies.intercept(uri) {
            Some(_) => None,
            None => Some(Box::new(direct_client(connect_timeout)?)),
        };
        Ok(Self {
            direct,
            host: host_header(uri),
            full,
            redirects: AtomicBool::new(false),
        })
    }

    /// Whether requests go through reqwest for a proxy.
    #[cfg(test)]
    pub fn is_proxied(&self) -> bool {
        self.direct.is_none()
    }

    /// Sends the request `build` makes; through reqwest when the tool server redirects
    /// (that answer is sent again, and so is every later call: a redirect costs each
    /// call one extra request, as it does with Go).
    pub async fn send(
        &self,
        build: impl Fn() -> Result<http::Request<Bytes>, http::Error>,
    ) -> Result<http::Response<AnswerBody>, BoxError> {
        let direct = self.direct.as_deref();
        if let Some(direct) = direct.filter(|_| !self.redirects.load(Ordering::Relaxed)) {
            let mut request = build()?;
            if let Some(host) = &self.host {
                request
                    .headers_mut()
                    .entry(http::header::HOST)
                    .or_insert_with(|| host.clone());
            }
            let response = direct.request(request.map(Full::new)).await?;
            if !is_redirect(&response) {
                return Ok(response.map(Either::Left));
            }
            self.note_redirect();
        }
        let request = reqwest::Request::try_from(build()?.map(reqwest::Body::from))?;
        let response = self.full.execute(request).await?;
        Ok(http::Response::from(response).map(Either::Right))
    }

    fn note_redirect(&self) {
        if !self.redirects.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "the tool server redirects; from now on every call follows the redirect, \
                 at an extra request each: set INTENTGATE_UPSTREAM_URL to where it leads"
            );
        }
    }
}

/// A redirect reqwest (and Go) would follow; other 3xx answers are answers.
fn is_redirect<B>(response: &http::Response<B>) -> bool {
    use http::StatusCode as S;
    let status = response.status();
    let follows = [
        S::MOVED_PERMANENTLY,
        S::FOUND,
        S::SEE_OTHER,
        S::TEMPORARY_REDIRECT,
        S::PERMANENT_REDIRECT,
    ];
    follows.contains(&status) && response.headers().contains_key(http::header::LOCATION)
}

/// `Host` as hyper's client writes it: the host, and the port unless it is the
/// scheme's default.
fn host_header(uri: &http::Uri) -> Option<http::HeaderValue> {
    let host = uri.host()?;
    let default_port = match uri.scheme_str() {
        Some("https" | "wss") => 443,
        _ => 80,
    };
    match uri.port().filter(|p| p.as_u16() != default_port) {
        Some(port) => http::HeaderValue::from_str(&format!("{host}:{}", port.as_str())).ok(),
        None => http::HeaderValue::from_str(host).ok(),
    }
}

fn direct_client(connect_timeout: Duration) -> Result<Direct, UpstreamClientError> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect_timeout));
    http.set_keepalive(Some(KEEPALIVE));
    http.set_keepalive_interval(Some(KEEPALIVE));
    http.set_keepalive_retries(Some(KEEPALIVE_RETRIES));
    #[cfg(target_os = "linux")]
    http.set_tcp_user_timeout(Some(USER_TIMEOUT));
    let tls = native_tls::TlsConnector::new()?;
    Ok(Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .build(HttpsConnector::from((http, tls.into()))))
}

#[cfg(test)]
mod tests {
    use super::host_header;

    #[test]
    fn the_host_header_names_the_port_only_when_it_is_not_the_schemes_default() {
        let cases = [
            ("http://127.0.0.1:8080/mcp", "127.0.0.1:8080"),
            ("http://tools.example/mcp", "tools.example"),
            ("http://tools.example:80/mcp", "tools.example"),
            ("https://tools.example:443/", "tools.example"),
            ("https://tools.example:80/", "tools.example:80"),
            ("wss://tools.example:443/", "tools.example"),
            ("http://tools.example:443/", "tools.example:443"),
            ("http://[::1]:9000/", "[::1]:9000"),
        ];
        for (url, want) in cases {
            let uri: http::Uri = url.parse().unwrap();
            assert_eq!(host_header(&uri).unwrap(), want, "{url}");
        }
    }
}

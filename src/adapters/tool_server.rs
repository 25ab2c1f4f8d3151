//! The upstream MCP tool server client: Streamable HTTP, JSON or event-stream answers.
//!
//! Requests go over hyper's pooled client (HTTP/1.1 keep-alive; TLS by the system's
//! library). reqwest's layers above that client (redirects, retries, URL conversions)
//! were a tenth of a forwarded call's CPU, and the tool server needs none of them. When
//! the environment names a proxy for the tool server's URL (`HTTP_PROXY`,
//! `HTTPS_PROXY`, `ALL_PROXY`, less `NO_PROXY`), requests go through reqwest, which
//! speaks to proxies, as every outbound client here does.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HeaderMap};
use http::{Method, StatusCode};
use http_body_util::{BodyExt as _, Either, Full};
use hyper_tls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::time::Instant;

use super::outbound::{MAX_BODY_BYTES, error_chain, read_capped};
use crate::domain::jsonrpc::UpstreamMessage;
use crate::domain::mcp::{SseDecoder, SseEvent};
use crate::ports::{
    EventStream, ReplyBody, ToolServer, UpstreamFailure, UpstreamHeaders, UpstreamReply,
};

const SESSION_HEADER: &str = "Mcp-Session-Id";

type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// A response body from either transport.
type AnswerBody = Either<hyper::body::Incoming, reqwest::Body>;

/// Talks to the tool server over one pooled client.
pub struct HttpToolServer {
    transport: Transport,
    uri: http::Uri,
    /// The URL as error texts quote it (`Post "http://…/"`, like Go).
    url: String,
    timeout: Duration,
}

/// Why the upstream client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamClientError {
    #[error("upstream URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error(transparent)]
    Client(#[from] reqwest::Error),
    #[error("upstream TLS: {0}")]
    Tls(#[from] native_tls::Error),
}

/// How requests reach the tool server.
#[allow(clippy::large_enum_variant)] // one per process, never moved on a call's path
enum Transport {
    Direct(Client<HttpsConnector<HttpConnector>, Full<Bytes>>),
    /// Through the proxy the environment names for the tool server's URL.
    Proxied(reqwest::Client),
}

impl Transport {
    /// `proxies`: what the environment says (`Matcher::from_env`), read once here.
    fn new(
        uri: &http::Uri,
        connect_timeout: Duration,
        proxies: &Matcher,
    ) -> Result<Self, UpstreamClientError> {
        if proxies.intercept(uri).is_some() {
            // reqwest reads the same variables and picks the same proxy.
            let client = reqwest::Client::builder()
                .connect_timeout(connect_timeout)
                .build()?;
            return Ok(Self::Proxied(client));
        }
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        let tls = native_tls::TlsConnector::new()?;
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .build(HttpsConnector::from((http, tls.into())));
        Ok(Self::Direct(client))
    }

    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<AnswerBody>, BoxError> {
        match self {
            Self::Direct(client) => {
                let response = client.request(request.map(Full::new)).await?;
                Ok(response.map(Either::Left))
            }
            Self::Proxied(client) => {
                let request = reqwest::Request::try_from(request.map(reqwest::Body::from))?;
                let response = client.execute(request).await?;
                Ok(http::Response::from(response).map(Either::Right))
            }
        }
    }
}

impl HttpToolServer {
    pub fn new(url: &str, timeout: Duration) -> Result<Self, UpstreamClientError> {
        Self::with_proxies(url, timeout, &Matcher::from_env())
    }

    fn with_proxies(
        url: &str,
        timeout: Duration,
        proxies: &Matcher,
    ) -> Result<Self, UpstreamClientError> {
        let invalid = |reason: String| UpstreamClientError::Url {
            url: url.to_owned(),
            reason,
        };
        // Parsed as a URL first: that validates and normalizes it as before.
        let parsed = reqwest::Url::parse(url).map_err(|e| invalid(e.to_string()))?;
        let uri: http::Uri = parsed
            .as_str()
            .parse()
            .map_err(|e: http::uri::InvalidUri| invalid(e.to_string()))?;
        // No client-wide timeout: a GET stream stays open for as long as the session;
        // every other request carries its own.
        Ok(Self {
            transport: Transport::new(&uri, timeout, proxies)?,
            uri,
            url: parsed.as_str().to_owned(),
            timeout,
        })
    }

    fn failure(
        &self,
        what: &str,
        err: &(dyn std::error::Error + 'static),
        status: Option<u16>,
    ) -> UpstreamFailure {
        let cause = format!("{what} {:?}: {}", self.url, error_chain(err));
        if is_timeout(err) {
            UpstreamFailure::Timeout { cause }
        } else {
            UpstreamFailure::Transport { cause, status }
        }
    }

    /// Go's words for a request that ran out of time.
    fn timed_out(&self, what: &str, waiting_for: &str) -> UpstreamFailure {
        UpstreamFailure::Timeout {
            cause: format!(
                "{what} {:?}: context deadline exceeded (Client.Timeout {waiting_for})",
                self.url
            ),
        }
    }

    fn request(&self, method: Method, headers: &UpstreamHeaders) -> http::request::Builder {
        let mut req = http::Request::builder()
            .method(method)
            .uri(self.uri.clone());
        if let Some(id) = &headers.session_id {
            req = req.header(SESSION_HEADER, id);
        }
        if let Some(version) = &headers.protocol_version {
            req = req.header("MCP-Protocol-Version", version);
        }
        for (name, value) in &headers.request_metadata {
            req = req.header(name, value);
        }
        if let Some(id) = &headers.last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        req
    }

    /// Sends a request; until `deadline`, when given, for the answer's headers.
    async fn send(
        &self,
        what: &'static str,
        request: http::request::Builder,
        body: Bytes,
        deadline: Option<Instant>,
    ) -> Result<http::Response<AnswerBody>, UpstreamFailure> {
        let request = request
            .body(body)
            .map_err(|e| self.failure(what, &e, None))?;
        let sent = self.transport.send(request);
        let response = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, sent)
                .await
                .map_err(|_| self.timed_out(what, "exceeded while awaiting headers"))?,
            None => sent.await,
        };
        response.map_err(|e| self.failure(what, &*e, None))
    }

    /// A GET for an event stream, bounded by `timeout` when given.
    async fn get_stream(
        &self,
        headers: &UpstreamHeaders,
        timeout: Option<Duration>,
    ) -> Result<UpstreamReply, UpstreamFailure> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let request = self
            .request(Method::GET, headers)
            .header(ACCEPT, "text/event-stream");
        let response = self.send("Get", request, Bytes::new(), deadline).await?;
        self.reply("Get", response, deadline).await
    }

    /// Turns a response into a reply: an event stream is handed over as it arrives,
    /// anything else is read whole (bounded, and by `deadline` when given).
    async fn reply(
        &self,
        what: &'static str,
        response: http::Response<AnswerBody>,
        deadline: Option<Instant>,
    ) -> Result<UpstreamReply, UpstreamFailure> {
        let (head, body) = response.into_parts();
        let status = head.status.as_u16();
        let session_id = header_text(&head.headers, SESSION_HEADER);
        if status >= 400 {
            return Err(self.http_failure(head.status, &head.headers, body).await);
        }
        if is_event_stream(&head.headers) {
            let stream = HttpEventStream {
                body,
                decoder: SseDecoder::new(MAX_BODY_BYTES),
                ready: std::collections::VecDeque::new(),
                what: format!("{what} {:?}", self.url),
                status,
                deadline,
            };
            return Ok(UpstreamReply {
                status,
                session_id,
                body: ReplyBody::Events(Box::new(stream)),
            });
        }
        let read = read_capped(body, MAX_BODY_BYTES);
        let read = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, read)
                .await
                .map_err(|_| self.timed_out(what, "or context cancellation while reading body"))?,
            None => read.await,
        };
        match read {
            Ok(Some(body)) => Ok(UpstreamReply {
                status,
                session_id,
                body: ReplyBody::Whole(body),
            }),
            Ok(None) => Err(UpstreamFailure::http(status)),
            Err(e) => Err(self.failure(what, &*e, Some(status))),
        }
    }

    /// A status >= 400; keeps the JSON-RPC error the body carried, if any, so the
    /// client sees the tool server's own explanation. The body is read for no longer
    /// than the upstream timeout.
    async fn http_failure(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: AnswerBody,
    ) -> UpstreamFailure {
        let status = status.as_u16();
        let body = if is_event_stream(headers) {
            None
        } else {
            let read = read_capped(body, MAX_BODY_BYTES);
            tokio::time::timeout(self.timeout, read)
                .await
                .ok()
                .and_then(Result::ok)
                .flatten()
        };
        let rpc_error = body
            .and_then(|b| UpstreamMessage::parse(&b).ok())
            .filter(UpstreamMessage::is_error)
            .and_then(|m| m.error_json());
        UpstreamFailure::Http { status, rpc_error }
    }
}

/// Whether a transport error is a timeout (connecting, in the TLS handshake, or
/// reqwest's own).
fn is_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(e) = cause {
        let timed_out = e
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
            || e.downcast_ref::<reqwest::Error>()
                .is_some_and(reqwest::Error::is_timeout);
        if timed_out {
            return true;
        }
        cause = e.source();
    }
    false
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .filter(|v| !v.is_empty())
}

fn is_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("text/event-stream")
        })
}

#[async_trait]
impl ToolServer for HttpToolServer {
    fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn post(
        &self,
        body: Vec<u8>,
        headers: &UpstreamHeaders,
    ) -> Result<UpstreamReply, UpstreamFailure> {
        let deadline = Some(Instant::now() + self.timeout);
        let request = self
            .request(Method::POST, headers)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream");
        let response = self.send("Post", request, body.into(), deadline).await?;
        self.reply("Post", response, deadline).await
    }

    async fn resume(&self, headers: &UpstreamHeaders) -> Result<UpstreamReply, UpstreamFailure> {
        self.get_stream(headers, Some(self.timeout)).await
    }

    async fn listen(&self, headers: &UpstreamHeaders) -> Result<UpstreamReply, UpstreamFailure> {
        self.get_stream(headers, None).await
    }

    async fn end_session(&self, headers: &UpstreamHeaders) -> Result<u16, UpstreamFailure> {
        let deadline = Some(Instant::now() + self.timeout);
        let request = self.request(Method::DELETE, headers);
        let response = self.send("Delete", request, Bytes::new(), deadline).await?;
        Ok(response.status().as_u16())
    }
}

/// Events decoded from a response body as its chunks arrive.
struct HttpEventStream {
    body: AnswerBody,
    decoder: SseDecoder,
    ready: std::collections::VecDeque<SseEvent>,
    what: String,
    status: u16,
    /// When the request's time runs out; `None` for a session's open GET stream.
    deadline: Option<Instant>,
}

impl HttpEventStream {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, UpstreamFailure> {
        loop {
            let frame = match self.deadline {
                Some(deadline) => tokio::time::timeout_at(deadline, self.body.frame())
                    .await
                    .map_err(|_| UpstreamFailure::Timeout {
                        cause: format!(
                            "{}: context deadline exceeded (Client.Timeout or context cancellation while reading body)",
                            self.what
                        ),
                    })?,
                None => self.body.frame().await,
            };
            let Some(frame) = frame else {
                return Ok(None);
            };
            let frame = frame.map_err(|e| UpstreamFailure::Transport {
                cause: format!("{}: {}", self.what, error_chain(&*e)),
                status: Some(self.status),
            })?;
            if let Ok(chunk) = frame.into_data() {
                return Ok(Some(chunk));
            }
        }
    }
}

#[async_trait]
impl EventStream for HttpEventStream {
    async fn next_event(&mut self) -> Result<Option<SseEvent>, UpstreamFailure> {
        let mut decoded = Vec::new();
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Ok(Some(event));
            }
            let Some(chunk) = self.next_chunk().await? else {
                return Ok(None);
            };
            self.decoder
                .feed(&chunk, &mut decoded)
                .map_err(|_| UpstreamFailure::http(self.status))?;
            self.ready.extend(decoded.drain(..));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(url: &str, proxies: Matcher) -> Transport {
        let server = HttpToolServer::with_proxies(url, Duration::from_secs(1), &proxies);
        server.map(|s| s.transport).unwrap()
    }

    #[test]
    fn a_proxy_the_environment_names_for_the_tool_server_is_used() {
        let proxied = || Matcher::builder().http("http://proxy.test:3128");
        assert!(matches!(
            transport("http://tools.test/mcp", proxied().build()),
            Transport::Proxied(_)
        ));
        assert!(matches!(
            transport("http://tools.test/mcp", proxied().no("tools.test").build()),
            Transport::Direct(_)
        ));
        assert!(matches!(
            transport("https://tools.test/mcp", proxied().build()),
            Transport::Direct(_)
        ));
        assert!(matches!(
            transport("http://tools.test/mcp", Matcher::builder().build()),
            Transport::Direct(_)
        ));
    }

    #[test]
    fn a_url_that_does_not_parse_is_refused_at_start() {
        let refused = HttpToolServer::with_proxies(
            "not a url",
            Duration::from_secs(1),
            &Matcher::builder().build(),
        );
        assert!(matches!(refused, Err(UpstreamClientError::Url { .. })));
    }
}

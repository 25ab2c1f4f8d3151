//! The upstream MCP tool server client: Streamable HTTP, JSON or event-stream answers,
//! over hyper's pooled client (`transport`), to the URL `target` splits for use.

mod events;
mod target;
mod transport;

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName};
use http::{Method, StatusCode};
use hyper_util::client::proxy::matcher::Matcher;
use tokio::time::Instant;

use self::events::HttpEventStream;
use self::target::Target;
use self::transport::{AnswerBody, Transport};
use super::outbound::{MAX_BODY_BYTES, error_chain, read_capped};
use crate::domain::jsonrpc::UpstreamMessage;
use crate::ports::{ReplyBody, ToolServer, UpstreamFailure, UpstreamHeaders, UpstreamReply};

const SESSION_HEADER: &str = "Mcp-Session-Id";
/// What Go's client says ran out of time, after `context deadline exceeded`.
const AWAITING_HEADERS: &str = "Client.Timeout exceeded while awaiting headers";
const READING_BODY: &str = "Client.Timeout or context cancellation while reading body";

/// Talks to the tool server over one pooled client.
pub struct HttpToolServer {
    transport: Transport,
    target: Target,
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

/// One request to send: the method, the call's headers and what the method adds.
struct Outgoing<'a> {
    method: Method,
    headers: &'a UpstreamHeaders,
    extra: &'a [(HeaderName, &'static str)],
    body: Bytes,
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
        let target = Target::parse(url)?;
        // No client-wide timeout: a GET stream stays open for as long as the session;
        // every other request carries its own.
        Ok(Self {
            transport: Transport::new(&target.uri, timeout, proxies)?,
            target,
            timeout,
        })
    }

    /// How error texts name a request: `Post "http://…/"`, as Go does.
    fn what(&self, method: &Method) -> String {
        let verb = match *method {
            Method::GET => "Get",
            Method::DELETE => "Delete",
            _ => "Post",
        };
        format!("{verb} {:?}", self.target.quoted)
    }

    fn failure(
        &self,
        method: &Method,
        err: &(dyn std::error::Error + 'static),
        status: Option<u16>,
    ) -> UpstreamFailure {
        failure(&self.what(method), err, status)
    }

    fn request(&self, out: &Outgoing<'_>) -> Result<http::Request<Bytes>, http::Error> {
        let headers = out.headers;
        let mut req = http::Request::builder()
            .method(out.method.clone())
            .uri(self.target.uri.clone());
        if let Some(credentials) = &self.target.basic_auth {
            req = req.header(http::header::AUTHORIZATION, credentials);
        }
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
        for (name, value) in out.extra {
            req = req.header(name, *value);
        }
        req.body(out.body.clone())
    }

    /// Sends a request; until `deadline`, when given, for the answer's headers.
    async fn send(
        &self,
        out: &Outgoing<'_>,
        deadline: Option<Instant>,
    ) -> Result<http::Response<AnswerBody>, UpstreamFailure> {
        let sent = self.transport.send(|| self.request(out));
        let Some(response) = within(deadline, sent).await else {
            return Err(deadline_exceeded(&self.what(&out.method), AWAITING_HEADERS));
        };
        response.map_err(|e| self.failure(&out.method, &*e, None))
    }

    /// Sends a request and reads its answer, all before `deadline` when given.
    async fn exchange(
        &self,
        out: Outgoing<'_>,
        deadline: Option<Instant>,
    ) -> Result<UpstreamReply, UpstreamFailure> {
        let response = self.send(&out, deadline).await?;
        self.reply(&out.method, response, deadline).await
    }

    /// Turns a response into a reply: an event stream is handed over as it arrives,
    /// anything else is read whole (bounded, and by `deadline` when given).
    async fn reply(
        &self,
        method: &Method,
        response: http::Response<AnswerBody>,
        deadline: Option<Instant>,
    ) -> Result<UpstreamReply, UpstreamFailure> {
        let (head, body) = response.into_parts();
        let status = head.status.as_u16();
        let session_id = header_text(&head.headers, SESSION_HEADER);
        if status >= 400 {
            let deadline = deadline.unwrap_or_else(|| Instant::now() + self.timeout);
            return Err(http_failure(head.status, &head.headers, body, deadline).await);
        }
        if is_event_stream(&head.headers) {
            let stream = HttpEventStream::new(body, self.what(method), status, deadline);
            return Ok(UpstreamReply {
                status,
                session_id,
                body: ReplyBody::Events(Box::new(stream)),
            });
        }
        let Some(read) = within(deadline, read_capped(body, MAX_BODY_BYTES)).await else {
            return Err(deadline_exceeded(&self.what(method), READING_BODY));
        };
        match read {
            Ok(Some(body)) => Ok(UpstreamReply {
                status,
                session_id,
                body: ReplyBody::Whole(body),
            }),
            Ok(None) => Err(UpstreamFailure::http(status)),
            Err(e) => Err(self.failure(method, &*e, Some(status))),
        }
    }
}

/// A status >= 400; keeps the JSON-RPC error the body carried, if any, so the client
/// sees the tool server's own explanation. The body is read until `deadline` at most.
async fn http_failure(
    status: StatusCode,
    headers: &HeaderMap,
    body: AnswerBody,
    deadline: Instant,
) -> UpstreamFailure {
    let status = status.as_u16();
    let body = if is_event_stream(headers) {
        None
    } else {
        within(Some(deadline), read_capped(body, MAX_BODY_BYTES))
            .await
            .and_then(Result::ok)
            .flatten()
    };
    let rpc_error = body
        .and_then(|b| UpstreamMessage::parse(&b).ok())
        .filter(UpstreamMessage::is_error)
        .and_then(|m| m.error_json());
    UpstreamFailure::Http { status, rpc_error }
}

/// Runs `work` until `deadline`, when there is one; `None` if it ran out first.
async fn within<T>(deadline: Option<Instant>, work: impl Future<Output = T>) -> Option<T> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, work).await.ok(),
        None => Some(work.await),
    }
}

/// Go's words for a request that ran out of time; `what` names it (`Post "…"`).
fn deadline_exceeded(what: &str, waiting_for: &str) -> UpstreamFailure {
    UpstreamFailure::Timeout {
        cause: format!("{what}: context deadline exceeded ({waiting_for})"),
    }
}

/// A transport error: a timeout if it was one (connecting, or the OS giving up on an
/// unanswered connection), else a transport failure.
fn failure(
    what: &str,
    err: &(dyn std::error::Error + 'static),
    status: Option<u16>,
) -> UpstreamFailure {
    let cause = format!("{what}: {}", error_chain(err));
    if is_timeout(err) {
        UpstreamFailure::Timeout { cause }
    } else {
        UpstreamFailure::Transport { cause, status }
    }
}

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
        let extra = [
            (CONTENT_TYPE, "application/json"),
            (ACCEPT, "application/json, text/event-stream"),
        ];
        let out = Outgoing {
            method: Method::POST,
            headers,
            extra: &extra,
            body: body.into(),
        };
        self.exchange(out, Some(Instant::now() + self.timeout))
            .await
    }

    async fn resume(&self, headers: &UpstreamHeaders) -> Result<UpstreamReply, UpstreamFailure> {
        let deadline = Instant::now() + self.timeout;
        self.exchange(stream_request(headers), Some(deadline)).await
    }

    /// The stream itself stays open as long as the tool server keeps it; its headers
    /// (name resolution, connection and TLS included) and any answer that is not a
    /// stream come within the upstream timeout, so a tool server that never answers
    /// does not hold the client's GET for ever.
    async fn listen(&self, headers: &UpstreamHeaders) -> Result<UpstreamReply, UpstreamFailure> {
        let out = stream_request(headers);
        let deadline = Instant::now() + self.timeout;
        let response = self.send(&out, Some(deadline)).await?;
        let stream = response.status().as_u16() < 400 && is_event_stream(response.headers());
        self.reply(&out.method, response, (!stream).then_some(deadline))
            .await
    }

    async fn end_session(&self, headers: &UpstreamHeaders) -> Result<u16, UpstreamFailure> {
        let out = Outgoing {
            method: Method::DELETE,
            headers,
            extra: &[],
            body: Bytes::new(),
        };
        let response = self.send(&out, Some(Instant::now() + self.timeout)).await?;
        Ok(response.status().as_u16())
    }
}

/// A GET for the session's event stream.
fn stream_request(headers: &UpstreamHeaders) -> Outgoing<'_> {
    const EXTRA: &[(HeaderName, &str)] = &[(ACCEPT, "text/event-stream")];
    Outgoing {
        method: Method::GET,
        headers,
        extra: EXTRA,
        body: Bytes::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxied(url: &str, proxies: Matcher) -> bool {
        let server = HttpToolServer::with_proxies(url, Duration::from_secs(1), &proxies);
        server.unwrap().transport.is_proxied()
    }

    #[test]
    fn a_proxy_the_environment_names_for_the_tool_server_is_used() {
        let http_proxy = || Matcher::builder().http("http://proxy.test:3128");
        assert!(proxied("http://tools.test/mcp", http_proxy().build()));
        assert!(!proxied(
            "http://tools.test/mcp",
            http_proxy().no("tools.test").build()
        ));
        assert!(!proxied("https://tools.test/mcp", http_proxy().build()));
        assert!(!proxied(
            "http://tools.test/mcp",
            Matcher::builder().build()
        ));
    }

    #[test]
    fn credentials_in_the_url_become_basic_auth_and_are_masked_in_errors() {
        let target = Target::parse("http://agent:s%40cret@tools.test:8080/mcp#part").unwrap();
        assert_eq!(target.uri, "http://tools.test:8080/mcp");
        // base64("agent:s@cret"), computed outside this code.
        assert_eq!(target.basic_auth.unwrap(), "Basic YWdlbnQ6c0BjcmV0");
        assert_eq!(target.quoted, "http://agent:***@tools.test:8080/mcp");
        let plain = Target::parse("https://tools.test/mcp").unwrap();
        assert!(plain.basic_auth.is_none());
        assert_eq!(plain.quoted, "https://tools.test/mcp");
    }

    #[test]
    fn a_url_that_does_not_parse_is_refused_at_start_without_its_password() {
        let refused = |url| {
            let server = HttpToolServer::with_proxies(
                url,
                Duration::from_secs(1),
                &Matcher::builder().build(),
            );
            match server {
                Err(e @ UpstreamClientError::Url { .. }) => e.to_string(),
                _ => panic!("{url} was accepted"),
            }
        };
        assert!(refused("not a url").contains("not a url"));
        let bad_port = refused("http://agent:s3cret@tools:99999/mcp");
        assert!(bad_port.contains("agent:***@tools:99999"), "{bad_port}");
        assert!(!bad_port.contains("s3cret"), "{bad_port}");
    }
}

//! The upstream MCP tool server client: Streamable HTTP, JSON or event-stream answers.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};

use super::outbound::{MAX_BODY_BYTES, error_chain, read_capped};
use crate::domain::jsonrpc::UpstreamMessage;
use crate::domain::mcp::{SseDecoder, SseEvent};
use crate::ports::{
    EventStream, ReplyBody, ToolServer, UpstreamFailure, UpstreamHeaders, UpstreamReply,
};

const SESSION_HEADER: &str = "Mcp-Session-Id";

/// Talks to the tool server over one pooled client.
pub struct HttpToolServer {
    client: reqwest::Client,
    /// Parsed once: parsing (with the host's IDNA mapping) cost a few percent per call.
    url: reqwest::Url,
    timeout: Duration,
}

/// Why the upstream client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamClientError {
    #[error("upstream URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error(transparent)]
    Client(#[from] reqwest::Error),
}

impl HttpToolServer {
    pub fn new(url: &str, timeout: Duration) -> Result<Self, UpstreamClientError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| UpstreamClientError::Url {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        // No client-wide timeout: a GET stream stays open for as long as the session;
        // POSTs carry their own.
        let client = reqwest::Client::builder()
            .connect_timeout(timeout)
            .build()?;
        Ok(Self {
            client,
            url: parsed,
            timeout,
        })
    }

    fn failure(&self, method: &str, err: &reqwest::Error, status: Option<u16>) -> UpstreamFailure {
        let cause = format!("{method} {:?}: {}", self.url.as_str(), error_chain(err));
        if err.is_timeout() {
            UpstreamFailure::Timeout { cause }
        } else {
            UpstreamFailure::Transport { cause, status }
        }
    }

    fn request(
        &self,
        method: reqwest::Method,
        headers: &UpstreamHeaders,
    ) -> reqwest::RequestBuilder {
        let mut req = self.client.request(method, self.url.clone());
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

    /// A GET for an event stream, bounded by `timeout` when given.
    async fn get_stream(
        &self,
        headers: &UpstreamHeaders,
        timeout: Option<Duration>,
    ) -> Result<UpstreamReply, UpstreamFailure> {
        let mut request = self
            .request(reqwest::Method::GET, headers)
            .header(ACCEPT, "text/event-stream");
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        let response = request
            .send()
            .await
            .map_err(|e| self.failure("Get", &e, None))?;
        self.reply("Get", response).await
    }

    /// Turns a response into a reply: an event stream is handed over as it arrives,
    /// anything else is read whole (bounded).
    async fn reply(
        &self,
        method: &'static str,
        response: reqwest::Response,
    ) -> Result<UpstreamReply, UpstreamFailure> {
        let status = response.status().as_u16();
        let session_id = header_text(response.headers(), SESSION_HEADER);
        if status >= 400 {
            return Err(Self::http_failure(status, response).await);
        }
        if is_event_stream(response.headers()) {
            let stream = HttpEventStream {
                response,
                decoder: SseDecoder::new(MAX_BODY_BYTES),
                ready: std::collections::VecDeque::new(),
                what: format!("{method} {:?}", self.url.as_str()),
                status,
            };
            return Ok(UpstreamReply {
                status,
                session_id,
                body: ReplyBody::Events(Box::new(stream)),
            });
        }
        match read_capped(response, MAX_BODY_BYTES).await {
            Ok(Some(body)) => Ok(UpstreamReply {
                status,
                session_id,
                body: ReplyBody::Whole(body),
            }),
            Ok(None) => Err(UpstreamFailure::http(status)),
            Err(e) => Err(self.failure(method, &e, Some(status))),
        }
    }

    /// A status >= 400; keeps the JSON-RPC error the body carried, if any, so the
    /// client sees the tool server's own explanation.
    async fn http_failure(status: u16, response: reqwest::Response) -> UpstreamFailure {
        let body = if is_event_stream(response.headers()) {
            None
        } else {
            read_capped(response, MAX_BODY_BYTES).await.ok().flatten()
        };
        let rpc_error = body
            .and_then(|b| UpstreamMessage::parse(&b).ok())
            .filter(UpstreamMessage::is_error)
            .and_then(|m| m.error_json());
        UpstreamFailure::Http { status, rpc_error }
    }
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
        let response = self
            .request(reqwest::Method::POST, headers)
            .timeout(self.timeout)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream")
            .body(body)
            .send()
            .await
            .map_err(|e| self.failure("Post", &e, None))?;
        self.reply("Post", response).await
    }

    async fn resume(&self, headers: &UpstreamHeaders) -> Result<UpstreamReply, UpstreamFailure> {
        self.get_stream(headers, Some(self.timeout)).await
    }

    async fn listen(&self, headers: &UpstreamHeaders) -> Result<UpstreamReply, UpstreamFailure> {
        self.get_stream(headers, None).await
    }

    async fn end_session(&self, headers: &UpstreamHeaders) -> Result<u16, UpstreamFailure> {
        let response = self
            .request(reqwest::Method::DELETE, headers)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| self.failure("Delete", &e, None))?;
        Ok(response.status().as_u16())
    }
}

/// Events decoded from a response body as its chunks arrive.
struct HttpEventStream {
    response: reqwest::Response,
    decoder: SseDecoder,
    ready: std::collections::VecDeque<SseEvent>,
    what: String,
    status: u16,
}

#[async_trait]
impl EventStream for HttpEventStream {
    async fn next_event(&mut self) -> Result<Option<SseEvent>, UpstreamFailure> {
        let mut decoded = Vec::new();
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Ok(Some(event));
            }
            let chunk = self.response.chunk().await.map_err(|e| {
                let cause = format!("{}: {}", self.what, error_chain(&e));
                match e.is_timeout() {
                    true => UpstreamFailure::Timeout { cause },
                    false => UpstreamFailure::Transport {
                        cause,
                        status: Some(self.status),
                    },
                }
            })?;
            let Some(chunk) = chunk else {
                return Ok(None);
            };
            self.decoder
                .feed(&chunk, &mut decoded)
                .map_err(|_| UpstreamFailure::http(self.status))?;
            self.ready.extend(decoded.drain(..));
        }
    }
}

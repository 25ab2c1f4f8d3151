//! The MCP tool server behind the gateway, spoken to over Streamable HTTP.

use async_trait::async_trait;

use crate::domain::mcp::SseEvent;

/// The transport headers the gateway passes on. Never the client's `Authorization`
/// or anything else that identifies the client to the tool server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpstreamHeaders {
    /// The upstream's own session id (never the one the gateway gave the client).
    pub session_id: Option<String>,
    /// `MCP-Protocol-Version`.
    pub protocol_version: Option<String>,
    /// `Mcp-Method`, `Mcp-Name` (both checked against the body already) and
    /// `Mcp-Param-*` (passed on for the tool server to check: the gateway authorizes
    /// the body), in the order the client sent them.
    pub request_metadata: Vec<(String, String)>,
    /// `Last-Event-ID`, when resuming a GET stream.
    pub last_event_id: Option<String>,
}

/// What the tool server answered (HTTP status < 400).
pub struct UpstreamReply {
    pub status: u16,
    /// The `Mcp-Session-Id` the tool server set, if any.
    pub session_id: Option<String>,
    pub body: ReplyBody,
}

/// A whole JSON body, or a stream of server-sent events.
pub enum ReplyBody {
    /// `application/json` (or anything not an event stream), read whole and bounded;
    /// empty for an accepted notification.
    Whole(Vec<u8>),
    Events(Box<dyn EventStream>),
}

impl std::fmt::Debug for ReplyBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Whole(body) => write!(f, "Whole({} bytes)", body.len()),
            Self::Events(_) => f.write_str("Events(..)"),
        }
    }
}

/// A `text/event-stream` answer, read as it arrives.
#[async_trait]
pub trait EventStream: Send {
    /// The next event; `Ok(None)` when the tool server ended the stream. An event over
    /// the message size limit, a broken connection or the upstream timeout is `Err`.
    async fn next_event(&mut self) -> Result<Option<SseEvent>, UpstreamFailure>;
}

/// Why the tool server gave no usable answer; maps to JSON-RPC -32603 unless it
/// carried a JSON-RPC error of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpstreamFailure {
    /// The call ran out of time.
    Timeout { cause: String },
    /// Connection, DNS, reset or body-read failure; `status` if headers had arrived.
    Transport { cause: String, status: Option<u16> },
    /// HTTP status >= 400, or a body over the size limit. `rpc_error` is the JSON-RPC
    /// `error` object the body carried, if it was a JSON-RPC error response.
    Http {
        status: u16,
        rpc_error: Option<String>,
    },
}

impl UpstreamFailure {
    /// An HTTP failure without a JSON-RPC error body.
    pub fn http(status: u16) -> Self {
        Self::Http {
            status,
            rpc_error: None,
        }
    }

    /// The JSON-RPC `message` (`upstream timeout`, `upstream transport`,
    /// `upstream upstream_http`).
    pub fn message(&self) -> &'static str {
        match self {
            Self::Timeout { .. } => "upstream timeout",
            Self::Transport { .. } => "upstream transport",
            Self::Http { .. } => "upstream upstream_http",
        }
    }

    /// The `detail` text, also the audit reason.
    pub fn detail(&self) -> String {
        match self {
            Self::Timeout { cause } => format!("upstream timeout: {cause}"),
            Self::Transport {
                cause,
                status: None,
            } => format!("upstream transport error: {cause}"),
            Self::Transport {
                cause,
                status: Some(s),
            } => {
                format!("upstream transport error after HTTP {s}: {cause}")
            }
            Self::Http { status, .. } => format!("upstream HTTP {status}"),
        }
    }

    /// The HTTP status seen, or 0.
    pub fn status(&self) -> u16 {
        match self {
            Self::Timeout { .. } | Self::Transport { status: None, .. } => 0,
            Self::Transport {
                status: Some(s), ..
            }
            | Self::Http { status: s, .. } => *s,
        }
    }
}

#[async_trait]
pub trait ToolServer: Send + Sync {
    /// How long one exchange may take, resumed streams included.
    fn timeout(&self) -> std::time::Duration;

    /// POSTs `body` (one JSON-RPC message) with `headers`, accepting a JSON or an
    /// event-stream answer. No retries. The upstream timeout bounds the whole exchange,
    /// event stream included.
    async fn post(
        &self,
        body: Vec<u8>,
        headers: &UpstreamHeaders,
    ) -> Result<UpstreamReply, UpstreamFailure>;

    /// GET with `Last-Event-ID` (in `headers`): the rest of a POST's event stream that
    /// the tool server closed before answering. Bounded by the upstream timeout like
    /// the POST it continues.
    async fn resume(&self, headers: &UpstreamHeaders) -> Result<UpstreamReply, UpstreamFailure>;

    /// GET: the session's server-to-client event stream. Its headers come within the
    /// upstream timeout; the stream itself is not bounded by it (it is meant to stay
    /// open). A 405 is `Http { status: 405, .. }`.
    async fn listen(&self, headers: &UpstreamHeaders) -> Result<UpstreamReply, UpstreamFailure>;

    /// DELETE: ends the upstream session named in `headers`; returns the HTTP status
    /// (405 when the tool server does not let clients end sessions).
    async fn end_session(&self, headers: &UpstreamHeaders) -> Result<u16, UpstreamFailure>;
}

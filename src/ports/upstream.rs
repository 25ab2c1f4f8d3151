//! The MCP tool server behind the gateway.

use async_trait::async_trait;

/// An HTTP answer from the tool server (status < 400, body within the size limit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamReply {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Why the tool server gave no usable answer; maps to JSON-RPC -32603.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpstreamFailure {
    /// The call ran out of time.
    Timeout { cause: String },
    /// Connection, DNS, reset or body-read failure; `status` if headers had arrived.
    Transport { cause: String, status: Option<u16> },
    /// HTTP status >= 400, or a body over the size limit.
    Http { status: u16 },
}

impl UpstreamFailure {
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
            Self::Http { status } => format!("upstream HTTP {status}"),
        }
    }

    /// The HTTP status seen, or 0.
    pub fn status(&self) -> u16 {
        match self {
            Self::Timeout { .. } | Self::Transport { status: None, .. } => 0,
            Self::Transport {
                status: Some(s), ..
            }
            | Self::Http { status: s } => *s,
        }
    }
}

#[async_trait]
pub trait ToolServer: Send + Sync {
    /// POSTs `body` (a JSON-RPC message) and returns the answer. No retries.
    async fn post(&self, body: Vec<u8>) -> Result<UpstreamReply, UpstreamFailure>;
}

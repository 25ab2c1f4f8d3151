//! The upstream MCP tool server client.

use std::time::Duration;

use async_trait::async_trait;

use super::{MAX_BODY_BYTES, error_chain, read_capped};
use crate::ports::{ToolServer, UpstreamFailure, UpstreamReply};

/// POSTs JSON-RPC messages to the tool server over a pooled connection.
pub struct HttpToolServer {
    client: reqwest::Client,
    url: String,
}

impl HttpToolServer {
    pub fn new(url: &str, timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(Self {
            client,
            url: url.to_owned(),
        })
    }

    fn failure(&self, err: &reqwest::Error, status: Option<u16>) -> UpstreamFailure {
        let cause = format!("Post {:?}: {}", self.url, error_chain(err));
        if err.is_timeout() {
            UpstreamFailure::Timeout { cause }
        } else {
            UpstreamFailure::Transport { cause, status }
        }
    }
}

#[async_trait]
impl ToolServer for HttpToolServer {
    async fn post(&self, body: Vec<u8>) -> Result<UpstreamReply, UpstreamFailure> {
        let response = self
            .client
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| self.failure(&e, None))?;
        let status = response.status().as_u16();
        if status >= 400 {
            return Err(UpstreamFailure::Http { status });
        }
        match read_capped(response, MAX_BODY_BYTES).await {
            Ok(Some(body)) => Ok(UpstreamReply { status, body }),
            Ok(None) => Err(UpstreamFailure::Http { status }),
            Err(e) => Err(self.failure(&e, Some(status))),
        }
    }
}

//! An event-stream answer, decoded as its chunks arrive.

use std::collections::VecDeque;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::BodyExt as _;
use tokio::time::Instant;

use super::transport::AnswerBody;
use super::{READING_BODY, deadline_exceeded, failure, within};
use crate::adapters::outbound::MAX_BODY_BYTES;
use crate::domain::mcp::{SseDecoder, SseEvent};
use crate::ports::{EventStream, UpstreamFailure};

/// Events decoded from a response body as its chunks arrive.
pub(super) struct HttpEventStream {
    body: AnswerBody,
    decoder: SseDecoder,
    ready: VecDeque<SseEvent>,
    /// The request, as error texts name it (`Post "…"`).
    what: String,
    status: u16,
    /// When the request's time runs out; `None` for a session's open GET stream.
    deadline: Option<Instant>,
}

impl HttpEventStream {
    pub fn new(body: AnswerBody, what: String, status: u16, deadline: Option<Instant>) -> Self {
        Self {
            body,
            decoder: SseDecoder::new(MAX_BODY_BYTES),
            ready: VecDeque::new(),
            what,
            status,
            deadline,
        }
    }

    async fn next_chunk(&mut self) -> Result<Option<Bytes>, UpstreamFailure> {
        loop {
            let Some(frame) = within(self.deadline, self.body.frame()).await else {
                return Err(deadline_exceeded(&self.what, READING_BODY));
            };
            let Some(frame) = frame else {
                return Ok(None);
            };
            let frame = frame.map_err(|e| failure(&self.what, &*e, Some(self.status)))?;
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

//! Event-stream answers of `/v1/mcp`.
//!
//! A POSTed request is answered with JSON unless the tool server sends something
//! before its answer (progress, logging, a request of its own) and the client accepts
//! a stream: then the answer becomes a stream carrying those messages as they arrive
//! and the answer last. The call keeps running inside the response body, so a client
//! that goes away cancels it as a dropped request always has.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream;
use poem::http::StatusCode;
use poem::{Body, Response};
use tokio::sync::mpsc;
use tracing::Instrument as _;

use crate::app::Gateway;
use crate::app::mcp::{LISTEN_FOR_AT_MOST, McpCall, McpReply};
use crate::domain::mcp::{KEEP_ALIVE, encode_event, message_event};
use crate::ports::EventStream;

/// Messages the tool server may send ahead of its answer before the stream pushes back.
const INTERIM_QUEUE: usize = 64;
/// How often an idle stream sends a comment so proxies keep it open.
const KEEP_ALIVE_EVERY: Duration = Duration::from_secs(15);

type Running = Pin<Box<dyn Future<Output = McpReply> + Send>>;

/// How a POST is answered.
pub enum Negotiated {
    Whole(McpReply),
    Stream(Response),
}

/// Runs the call; switches to an event stream at the first message that comes ahead
/// of the answer, if `streams` (the client accepts `text/event-stream`).
pub async fn negotiate(gateway: Arc<Gateway>, mut call: McpCall, streams: bool) -> Negotiated {
    if !streams {
        return Negotiated::Whole(gateway.mcp(call).await);
    }
    let (sender, mut interim) = mpsc::channel(INTERIM_QUEUE);
    call.interim = Some(sender);
    // The call keeps the request's span (stage fields, the request log) even when it
    // goes on inside the response body.
    let span = tracing::Span::current();
    let mut running: Running = Box::pin(async move { gateway.mcp(call).await }.instrument(span));
    tokio::select! {
        biased;
        reply = &mut running => {
            // Messages sent just before the answer still go out, in order.
            let mut early = VecDeque::new();
            while let Ok(message) = interim.try_recv() {
                early.push_back(message);
            }
            // A refusal keeps its status (a 404 tells the client to initialize again);
            // the messages ahead of it belonged to a call that no longer counts.
            match early.is_empty() || matches!(reply, McpReply::Refused { .. }) {
                true => Negotiated::Whole(reply),
                false => Negotiated::Stream(stream_response(Stream {
                    early,
                    interim,
                    running: None,
                    last: Some(reply),
                })),
            }
        }
        Some(first) = interim.recv() => Negotiated::Stream(stream_response(Stream {
            early: VecDeque::from([first]),
            interim,
            running: Some(running),
            last: None,
        })),
    }
}

struct Stream {
    early: VecDeque<String>,
    interim: mpsc::Receiver<String>,
    /// The call, until it answers.
    running: Option<Running>,
    /// The answer, once the messages ahead of it are out.
    last: Option<McpReply>,
}

impl Stream {
    /// The next piece of the body; `None` once the answer is out.
    async fn next(&mut self) -> Option<String> {
        loop {
            if let Some(message) = self.early.pop_front() {
                return Some(message_event(&message));
            }
            if let Some(reply) = self.last.take() {
                return final_event(reply);
            }
            let running = self.running.as_mut()?;
            tokio::select! {
                biased;
                reply = running => {
                    self.running = None;
                    while let Ok(message) = self.interim.try_recv() {
                        self.early.push_back(message);
                    }
                    self.last = Some(reply);
                }
                Some(message) = self.interim.recv() => return Some(message_event(&message)),
                () = tokio::time::sleep(KEEP_ALIVE_EVERY) => return Some(KEEP_ALIVE.to_owned()),
            }
        }
    }
}

/// The answer as the stream's last event. A refusal that comes after the stream
/// started (the tool server lost the session) can only travel as a message too.
fn final_event(reply: McpReply) -> Option<String> {
    match reply {
        McpReply::Answer { body, .. } | McpReply::Refused { body, .. } => {
            Some(message_event(&body))
        }
        McpReply::Accepted => None,
    }
}

fn stream_response(state: Stream) -> Response {
    let body = stream::unfold(state, |mut state| async move {
        let piece = state.next().await?;
        Some((Ok::<_, std::io::Error>(piece), state))
    });
    event_stream_response(Body::from_bytes_stream(body))
}

fn event_stream_response(body: Body) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .content_type("text/event-stream")
        .header("Cache-Control", "no-cache")
        .header("X-Accel-Buffering", "no")
        .body(body)
}

/// A GET stream: the tool server's events as they arrive (ids, names and retry hints
/// kept, so `Last-Event-ID` resumes against the tool server), with keep-alives.
pub fn relay_events(events: Box<dyn EventStream>) -> Response {
    let ends = tokio::time::Instant::now() + LISTEN_FOR_AT_MOST;
    let body = stream::unfold(Some(events), move |events| async move {
        let mut events = events?;
        if tokio::time::Instant::now() >= ends {
            return None; // the client reconnects and is checked again
        }
        let next = tokio::time::timeout(KEEP_ALIVE_EVERY, events.next_event()).await;
        match next {
            Err(_) => Some((Ok::<_, std::io::Error>(KEEP_ALIVE.to_owned()), Some(events))),
            Ok(Ok(Some(event))) => Some((Ok(encode_event(&event)), Some(events))),
            Ok(Ok(None)) => None,
            Ok(Err(e)) => {
                tracing::debug!(error = %e.detail(), "upstream MCP stream ended");
                None
            }
        }
    });
    event_stream_response(Body::from_bytes_stream(body))
}

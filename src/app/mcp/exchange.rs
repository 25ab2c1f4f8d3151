//! One request–answer exchange with the tool server, whichever way it answers: a JSON
//! body, or an event stream whose messages before the answer (progress, logging, the
//! server's own requests) go to the client as they arrive.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::domain::jsonrpc::UpstreamMessage;
use crate::ports::{EventStream, ReplyBody, ToolServer, UpstreamFailure, UpstreamHeaders};

/// Where the messages a tool server sends before its answer go: one JSON-RPC message
/// (JSON text) per item. Absent when the client cannot take a stream.
pub type Interim = mpsc::Sender<String>;

/// What the tool server answered.
#[derive(Debug)]
pub struct Exchanged {
    pub status: u16,
    /// The `Mcp-Session-Id` the tool server set.
    pub session_id: Option<String>,
    pub answer: Answer,
}

#[derive(Debug)]
pub enum Answer {
    /// A JSON-RPC response (result or error).
    Message(UpstreamMessage),
    /// No body: an accepted notification.
    Empty,
    /// Not a JSON-RPC message; carries the parse error.
    Garbage(String),
}

/// POSTs `body` and waits for the answer, relaying what comes before it to `interim`.
pub async fn exchange(
    upstream: &dyn ToolServer,
    body: Vec<u8>,
    headers: &UpstreamHeaders,
    interim: Option<&Interim>,
) -> Result<Exchanged, UpstreamFailure> {
    let deadline = tokio::time::Instant::now() + upstream.timeout();
    let reply = upstream.post(body, headers).await?;
    let answer = match reply.body {
        ReplyBody::Whole(bytes) if bytes.is_empty() => Answer::Empty,
        ReplyBody::Whole(bytes) => match UpstreamMessage::parse(&bytes) {
            Ok(message) => Answer::Message(message),
            Err(why) => Answer::Garbage(why),
        },
        ReplyBody::Events(events) => {
            let answer = read_answer(upstream, events, headers, interim, reply.status);
            // Resuming never stretches the exchange past the upstream timeout.
            tokio::time::timeout_at(deadline, answer)
                .await
                .map_err(|_| UpstreamFailure::Timeout {
                    cause: "the answer's event stream outlived the upstream timeout".into(),
                })??
        }
    };
    Ok(Exchanged {
        status: reply.status,
        session_id: reply.session_id,
        answer,
    })
}

/// How often a stream the tool server closed before answering is resumed.
const MAX_RESUMES: usize = 3;
/// The longest `retry` hint honoured before resuming.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);

/// Reads an answer's event stream up to the answer, passing what comes before it to
/// `interim`. A tool server may close the stream early and expect the client to
/// resume it (GET with `Last-Event-ID`, after its `retry` hint): the gateway does
/// that for the client, within the session, a few times at most.
async fn read_answer(
    upstream: &dyn ToolServer,
    mut events: Box<dyn EventStream>,
    headers: &UpstreamHeaders,
    interim: Option<&Interim>,
    status: u16,
) -> Result<Answer, UpstreamFailure> {
    let (mut last_id, mut retry) = (None, None);
    for _ in 0..=MAX_RESUMES {
        while let Some(event) = events.next_event().await? {
            last_id = event.id.clone().or(last_id);
            retry = event.retry.or(retry);
            if event.data.trim().is_empty() {
                continue; // a priming event: an id to resume from, no message
            }
            match UpstreamMessage::parse(event.data.as_bytes()) {
                Ok(message) if message.is_response() => return Ok(Answer::Message(message)),
                Ok(_) => {
                    if let Some(sink) = interim {
                        // A client that went away just stops receiving.
                        let _ = sink.send(event.data).await;
                    }
                }
                Err(_) => {} // not a JSON-RPC message: dropped
            }
        }
        let (Some(id), Some(_)) = (&last_id, &headers.session_id) else {
            break;
        };
        let wait = Duration::from_millis(retry.unwrap_or(0)).min(MAX_RETRY_WAIT);
        tokio::time::sleep(wait).await;
        let resume = UpstreamHeaders {
            last_event_id: Some(id.clone()),
            ..headers.clone()
        };
        events = match upstream.resume(&resume).await?.body {
            ReplyBody::Events(more) => more,
            ReplyBody::Whole(_) => break,
        };
    }
    Err(UpstreamFailure::Transport {
        cause: "the event stream ended before the answer".into(),
        status: Some(status),
    })
}

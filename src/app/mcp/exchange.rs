//! One request–answer exchange with the tool server, whichever way it answers: a JSON
//! body, or an event stream whose messages before the answer (progress, logging, the
//! server's own requests) go to the client as they arrive.

use tokio::sync::mpsc;

use crate::domain::jsonrpc::UpstreamMessage;
use crate::ports::{ReplyBody, ToolServer, UpstreamFailure, UpstreamHeaders};

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
    let reply = upstream.post(body, headers).await?;
    let answer = match reply.body {
        ReplyBody::Whole(bytes) if bytes.is_empty() => Answer::Empty,
        ReplyBody::Whole(bytes) => match UpstreamMessage::parse(&bytes) {
            Ok(message) => Answer::Message(message),
            Err(why) => Answer::Garbage(why),
        },
        ReplyBody::Events(mut events) => {
            let mut answer = None;
            while let Some(event) = events.next_event().await? {
                if event.data.trim().is_empty() {
                    continue; // a priming event: an id to resume from, no message
                }
                match UpstreamMessage::parse(event.data.as_bytes()) {
                    Ok(message) if message.is_response() => {
                        answer = Some(Answer::Message(message));
                        break;
                    }
                    Ok(_) => {
                        if let Some(sink) = interim {
                            // A client that went away just stops receiving.
                            let _ = sink.send(event.data).await;
                        }
                    }
                    Err(_) => {} // not a JSON-RPC message: dropped
                }
            }
            answer.unwrap_or(Answer::Empty)
        }
    };
    Ok(Exchanged {
        status: reply.status,
        session_id: reply.session_id,
        answer,
    })
}

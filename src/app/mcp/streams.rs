//! The session's own stream (GET) and its end (DELETE), legacy era only.

use std::time::Duration;

use super::render;
use super::{Refusal, ResolveError};
use crate::app::Gateway;
use crate::domain::credential::Credential;
use crate::domain::mcp::McpSession;
use crate::instruments as metrics;
use crate::ports::{EventStream, ReplyBody, UpstreamHeaders};

/// How long one relayed GET stream lasts. The caller was checked when it opened; a
/// client reconnects (resuming with `Last-Event-ID`) and is checked again, so a token
/// revoked or expired meanwhile stops receiving within this time.
pub const LISTEN_FOR_AT_MOST: Duration = Duration::from_secs(300);

/// What a GET gets.
pub enum ListenOutcome {
    /// The tool server's stream for this session, to relay as it arrives for at most
    /// [`LISTEN_FOR_AT_MOST`].
    Stream(Box<dyn EventStream>),
    /// HTTP 405: no stream to offer (no tool server, no session, or the tool server
    /// offers none).
    NotOffered,
    Refused {
        refusal: Refusal,
        body: String,
    },
}

/// What a DELETE gets.
#[derive(Debug, PartialEq, Eq)]
pub enum EndOutcome {
    Ended,
    /// HTTP 405: there is no session to end.
    NotOffered,
    Refused {
        refusal: Refusal,
        body: String,
    },
}

impl Gateway {
    /// Opens the server-to-client stream of the caller's session on the tool server.
    pub async fn mcp_listen(
        &self,
        authorization: Option<&str>,
        session_id: Option<&str>,
        headers: UpstreamHeaders,
    ) -> ListenOutcome {
        let (Some(upstream), Some(id)) = (&self.upstream, session_id) else {
            return ListenOutcome::NotOffered;
        };
        let session = match self.owned_session(authorization, id).await {
            Ok(s) => s,
            Err((refusal, body)) => return ListenOutcome::Refused { refusal, body },
        };
        let headers = UpstreamHeaders {
            session_id: session.upstream_id.clone(),
            protocol_version: headers
                .protocol_version
                .or(Some(session.protocol_version.clone())),
            ..headers
        };
        match upstream.listen(&headers).await {
            Ok(reply) => match reply.body {
                ReplyBody::Events(stream) => ListenOutcome::Stream(stream),
                ReplyBody::Whole(_) => ListenOutcome::NotOffered,
            },
            Err(f) if f.status() == 405 => ListenOutcome::NotOffered,
            Err(f) if f.status() == 404 && session.upstream_id.is_some() => {
                let _ = self.sessions.close(&session.id).await;
                ListenOutcome::Refused {
                    refusal: Refusal::NotFound,
                    body: not_found_body(),
                }
            }
            Err(f) => ListenOutcome::Refused {
                refusal: Refusal::BadGateway,
                body: render::upstream_error("null", &f),
            },
        }
    }

    /// Ends the caller's session here and on the tool server.
    pub async fn mcp_end(
        &self,
        authorization: Option<&str>,
        session_id: Option<&str>,
    ) -> EndOutcome {
        let Some(id) = session_id else {
            return EndOutcome::NotOffered;
        };
        let session = match self.owned_session(authorization, id).await {
            Ok(s) => s,
            Err((refusal, body)) => return EndOutcome::Refused { refusal, body },
        };
        if let (Some(upstream), Some(upstream_id)) = (&self.upstream, &session.upstream_id) {
            let headers = UpstreamHeaders {
                session_id: Some(upstream_id.clone()),
                protocol_version: Some(session.protocol_version.clone()),
                ..UpstreamHeaders::default()
            };
            // Ours ends whatever the tool server says: it may not let clients end
            // sessions (405), or may have forgotten this one already.
            if let Err(e) = upstream.end_session(&headers).await {
                tracing::warn!(error = %e.detail(), "ending the upstream MCP session failed");
            }
        }
        match self.sessions.close(&session.id).await {
            Ok(_) => EndOutcome::Ended,
            Err(e) => {
                tracing::error!(error = %e, "closing an MCP session failed");
                metrics::store_error("sessions");
                EndOutcome::Refused {
                    refusal: Refusal::Unavailable,
                    body: unavailable_body(),
                }
            }
        }
    }

    /// The session `id` if the caller's token verifies and owns it.
    async fn owned_session(
        &self,
        authorization: Option<&str>,
        id: &str,
    ) -> Result<McpSession, (Refusal, String)> {
        let required = self.settings.require_capability;
        let token = self
            .authenticate(authorization, required)
            .await
            .map_err(|d| {
                let body = render::denial_error("null", &d);
                match d.challenge {
                    Some(challenge) => (Refusal::Challenge(challenge), body),
                    None => (Refusal::Unauthorized, body),
                }
            })?;
        let owner = Credential::owner_of(token.as_ref());
        match self.sessions.resolve(id, &owner).await {
            Ok(session) => Ok(session),
            Err(ResolveError::Refused(_)) => Err((Refusal::NotFound, not_found_body())),
            Err(ResolveError::Store(e)) => {
                tracing::error!(error = %e, "MCP session lookup failed");
                metrics::store_error("sessions");
                Err((Refusal::Unavailable, unavailable_body()))
            }
        }
    }
}

fn not_found_body() -> String {
    render::session_not_found("null")
}

fn unavailable_body() -> String {
    render::sessions_unavailable("null")
}

//! The MCP endpoint's use-cases: sessions bound to the caller, `tools/call` through the
//! pipeline, the other methods relayed to the tool server (cut down where they
//! advertise what the caller may use, audited where they touch its data), and
//! notifications and the client's own answers passed on.
//!
//! Transport details (HTTP statuses, headers, event streams) stay in the HTTP adapter;
//! this layer says what happened in [`McpReply`].

mod exchange;
mod relay;
mod render;
mod sessions;
mod streams;

use std::sync::Arc;
use std::time::Instant;

pub use exchange::{Answer, Exchanged, Interim, exchange};
pub use render::{envelope_error, json_string};
pub use sessions::{MAX_SESSIONS_PER_CALLER, ResolveError, Sessions};
pub use streams::{EndOutcome, LISTEN_FOR_AT_MOST, ListenOutcome};

use crate::domain::credential::Credential;
use crate::domain::decision::Denial;
use crate::domain::jsonrpc;
use crate::domain::mcp::{Era, McpSession, MethodKind, method_kind};
use crate::domain::oauth::Challenge;
use crate::ports::UpstreamHeaders;

use super::Gateway;
use crate::instruments as metrics;

/// Endpoint settings.
#[derive(Clone, Debug)]
pub struct McpSettings {
    /// Browser origins allowed besides loopback ones; `*` allows every origin.
    pub allowed_origins: Vec<String>,
}

/// One JSON-RPC message as the transport received it; its envelope is valid.
pub struct McpCall {
    pub request: jsonrpc::Request,
    pub authorization: Option<String>,
    pub intent_prompt: Option<String>,
    pub remote_addr: String,
    pub started: Instant,
    pub era: Era,
    /// The `Mcp-Session-Id` presented (legacy era only).
    pub session_id: Option<String>,
    /// Protocol version and request metadata for the tool server; the upstream
    /// session is filled in here.
    pub upstream_headers: UpstreamHeaders,
    pub interim: Option<Interim>,
    /// `tools/call` params as the transport already read them (to check the
    /// `Mcp-Name` header), so the pipeline does not parse them again; `None` when the
    /// transport did not read them.
    pub tool_call: Option<Result<jsonrpc::ToolCallParams, jsonrpc::EnvelopeError>>,
}

/// What the endpoint answers.
#[derive(Debug, PartialEq, Eq)]
pub enum McpReply {
    /// A JSON-RPC response, errors included. `session_id`: the session this
    /// `initialize` opened.
    Answer {
        body: String,
        session_id: Option<String>,
    },
    /// A notification or a client's response, handled.
    Accepted,
    /// Refused at the transport level, with a JSON-RPC error body.
    Refused { refusal: Refusal, body: String },
}

impl McpReply {
    fn answer(body: String) -> Self {
        Self::Answer {
            body,
            session_id: None,
        }
    }
}

/// Why a message was refused before (or instead of) a JSON-RPC answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// An OAuth client must sign in (again) or ask for more scope: HTTP 401 or 403
    /// with `WWW-Authenticate`.
    Challenge(Challenge),
    /// A message that cannot carry a JSON-RPC error was sent with a token that does
    /// not verify: HTTP 401.
    Unauthorized,
    /// An unknown, expired or foreign session; an unknown method in the stateless
    /// era: HTTP 404.
    NotFound,
    /// The tool server refused a notification: HTTP 502.
    BadGateway,
    /// The session store could not answer: HTTP 503 (fail closed).
    Unavailable,
}

/// Who is calling, as far as the endpoint checked.
struct Caller {
    credential: Option<Credential>,
    /// Whether the identity was established here. A `tools/call` leaves every check to
    /// its pipeline (which refuses a bad token with the reference's reasons) and is
    /// identified only to find its session.
    verified: bool,
}

impl Gateway {
    /// Handles one message of the MCP endpoint.
    pub async fn mcp(self: &Arc<Self>, call: McpCall) -> McpReply {
        let kind = method_kind(&call.request.method);
        let caller = match self.caller(&call, kind).await {
            Ok(caller) => caller,
            Err(denial) => return self.refuse_caller(&call, kind, &denial).await,
        };
        let session = match self.session_of(&call, kind, &caller).await {
            Ok(session) => session,
            Err(reply) => return reply,
        };
        let passes_on = call.request.is_response()
            || (call.request.is_notification() && kind != MethodKind::ToolCall);
        if passes_on {
            return self.pass_on(&call, session.as_ref()).await;
        }
        match kind {
            MethodKind::ToolCall => {
                let verified = caller.credential.filter(|_| caller.verified);
                self.mcp_tools_call(call, session, verified).await
            }
            MethodKind::Initialize => self.initialize(&call, caller.credential.as_ref()).await,
            MethodKind::Unknown => {
                let body = render::method_not_found(&call.request.id_json(), &call.request.method);
                match call.era {
                    Era::Stateless => McpReply::Refused {
                        refusal: Refusal::NotFound,
                        body,
                    },
                    Era::Legacy => McpReply::answer(body),
                }
            }
            _ => {
                self.relay_request(&call, kind, session.as_ref(), caller.credential.as_ref())
                    .await
            }
        }
    }

    /// The token's identity, checked as far as the method needs: a `tools/call` leaves
    /// every check to its pipeline; other messages must carry a token that verifies
    /// (signature, revocation, expiry) if they carry one, and listing or reading the
    /// tool server's data needs one in strict mode.
    async fn caller(&self, call: &McpCall, kind: MethodKind) -> Result<Caller, Denial> {
        let header = call.authorization.as_deref();
        if kind == MethodKind::ToolCall {
            // Only a session needs the identity before the pipeline runs.
            if call.session_id.is_none() || call.era == Era::Stateless {
                return Ok(Caller {
                    credential: None,
                    verified: false,
                });
            }
            return Ok(match self.identify(header).await {
                Ok(credential) => Caller {
                    credential,
                    verified: true,
                },
                Err(_) => Caller {
                    credential: None,
                    verified: false,
                },
            });
        }
        // Strict mode: every message but `ping` (a liveness probe that reaches no tool
        // and no data) needs a token, so no anonymous caller holds a session or talks
        // to the tool server.
        let required = self.settings.require_capability && kind != MethodKind::Ping;
        let credential = self.authenticate(header, required).await?;
        Ok(Caller {
            credential,
            verified: true,
        })
    }

    /// A caller whose token failed: a request gets the JSON-RPC capability error (a
    /// relayed data method is audited too); a notification or response, which has no
    /// way to carry an error, gets 401. An OAuth client gets its challenge instead.
    async fn refuse_caller(&self, call: &McpCall, kind: MethodKind, denial: &Denial) -> McpReply {
        let id = call.request.id_json();
        let body = render::denial_error(&id, denial);
        let is_request = !call.request.is_notification() && !call.request.is_response();
        if kind == MethodKind::Relayed && is_request {
            self.audit_refused(call, denial).await;
        }
        if let Some(challenge) = &denial.challenge {
            return McpReply::Refused {
                refusal: Refusal::Challenge(challenge.clone()),
                body,
            };
        }
        match is_request {
            true => McpReply::answer(body),
            false => McpReply::Refused {
                refusal: Refusal::Unauthorized,
                body,
            },
        }
    }

    /// The session the message belongs to: none in the stateless era, for
    /// `initialize`, or without a session id; a 404 for an unknown, expired or
    /// foreign one.
    async fn session_of(
        &self,
        call: &McpCall,
        kind: MethodKind,
        caller: &Caller,
    ) -> Result<Option<McpSession>, McpReply> {
        let Some(id) = call.session_id.as_deref() else {
            return Ok(None);
        };
        if call.era == Era::Stateless || kind == MethodKind::Initialize || !caller.verified {
            return Ok(None);
        }
        let owner = Credential::owner_of(caller.credential.as_ref());
        match self.sessions.resolve(id, &owner).await {
            Ok(session) => Ok(Some(session)),
            Err(ResolveError::Refused(why)) => {
                tracing::debug!(reason = %why, "MCP session refused");
                Err(session_not_found(call))
            }
            Err(ResolveError::Store(e)) => {
                tracing::error!(error = %e, "MCP session lookup failed");
                metrics::store_error("sessions");
                Err(McpReply::Refused {
                    refusal: Refusal::Unavailable,
                    body: render::sessions_unavailable(&call.request.id_json()),
                })
            }
        }
    }

    /// A tool server that no longer knows the session: ours ends too, and the client
    /// is told to open a new one.
    async fn upstream_lost_session(&self, call: &McpCall, session: &McpSession) -> McpReply {
        if let Err(e) = self.sessions.close(&session.id).await {
            tracing::warn!(error = %e, "closing an MCP session the tool server lost failed");
        }
        session_not_found(call)
    }
}

fn session_not_found(call: &McpCall) -> McpReply {
    McpReply::Refused {
        refusal: Refusal::NotFound,
        body: render::session_not_found(&call.request.id_json()),
    }
}

/// The headers for the tool server: the call's, plus the session's upstream id.
fn upstream_headers(call: &McpCall, session: Option<&McpSession>) -> UpstreamHeaders {
    let mut headers = call.upstream_headers.clone();
    headers.session_id = session.and_then(|s| s.upstream_id.clone());
    if headers.protocol_version.is_none() {
        headers.protocol_version = session.map(|s| s.protocol_version.clone());
    }
    headers
}

//! Every method of the endpoint: `tools/call` through the pipeline, `initialize`
//! opening a session, the other requests relayed, notifications passed on.

use std::sync::Arc;

use serde_json::value::RawValue;

use super::exchange::{Answer, Exchanged, exchange};
use super::render;
use super::{McpCall, McpReply, Refusal, upstream_headers};
use crate::app::{AuditFailure, Gateway};
use crate::app::{CallOutcome, ToolCall};
use crate::domain::audit::{AuditEvent, arg_keys, redact_args};
use crate::domain::credential::Credential;
use crate::domain::decision::{Denial, Stage, Verdict};
use crate::domain::jsonrpc::{self, UpstreamMessage, parse_tool_call};
use crate::domain::mcp::{
    DEFAULT_VERSION, McpSession, MethodKind, SUPPORTED_VERSIONS, SessionOwner, filter_capabilities,
    filter_tools, relays_notification,
};
use crate::instruments as metrics;
use crate::ports::{ToolServer, UpstreamFailure, UpstreamHeaders};

const INITIALIZE_FALLBACK: &str = r#"{"protocolVersion":"2025-03-26","serverInfo":{"name":"intentgate","version":"0.2"},"capabilities":{"tools":{}}}"#;

impl Gateway {
    pub(super) async fn mcp_tools_call(
        self: &Arc<Self>,
        mut call: McpCall,
        session: Option<McpSession>,
        verified_caller: Option<Credential>,
    ) -> McpReply {
        let id = call.request.id_json();
        let parsed = call
            .tool_call
            .take()
            .unwrap_or_else(|| parse_tool_call(call.request.params.as_deref()));
        let params = match parsed {
            Ok(p) => p,
            Err(e) => return McpReply::answer(render::envelope_error(&id, &e)),
        };
        let is_notification = call.request.is_notification();
        let request = ToolCall {
            params,
            forward_body: call.request.forward_body(),
            is_notification,
            authorization: call.authorization.clone(),
            verified_caller,
            intent_prompt: call.intent_prompt.clone(),
            remote_addr: call.remote_addr.clone(),
            started: call.started,
            session_id: session.as_ref().map(|s| s.id.clone()).unwrap_or_default(),
            upstream_headers: upstream_headers(&call, session.as_ref()),
            interim: call.interim.clone(),
        };
        // Boxed: the pipeline's future is kilobytes, and this one would carry it.
        let pipeline = Box::pin(self.tools_call(&request));
        let outcome = pipeline.await;
        if let (CallOutcome::UpstreamFailed(f), Some(s)) = (&outcome, &session)
            && lost_session(f, s)
        {
            return self.upstream_lost_session(&call, s).await;
        }
        if let CallOutcome::Denied(denial) = &outcome
            && let Some(challenge) = &denial.challenge
        {
            return McpReply::Refused {
                refusal: Refusal::Challenge(challenge.clone()),
                body: render::denial_error(&id, denial),
            };
        }
        if is_notification {
            return McpReply::Accepted;
        }
        McpReply::answer(render::call_outcome(&id, outcome))
    }

    /// Relays `initialize` and opens a session bound to the caller, mapped to the tool
    /// server's session if it keeps one.
    pub(super) async fn initialize(&self, call: &McpCall, token: Option<&Credential>) -> McpReply {
        let id = call.request.id_json();
        let owner = Credential::owner_of(token);
        let Some(upstream) = &self.upstream else {
            return self
                .opened(&id, owner, None, DEFAULT_VERSION, INITIALIZE_FALLBACK)
                .await;
        };
        let exchanged = match relay_message(upstream.as_ref(), call, None).await {
            Ok(e) => e,
            Err(failure) => return McpReply::answer(render::upstream_error(&id, &failure)),
        };
        let message = match exchanged.answer {
            Answer::Message(m) if !m.is_error() => m,
            Answer::Message(error) => return McpReply::answer(error.relay(&id, None)),
            Answer::Empty => return McpReply::answer(render::garbage_error(&id, &empty_body())),
            Answer::Garbage(why) => return McpReply::answer(render::garbage_error(&id, &why)),
        };
        let result = message.result.as_ref().map_or("null", |r| r.get());
        let version = negotiated_version(result);
        let result = filter_capabilities(result);
        self.opened(&id, owner, exchanged.session_id, &version, &result)
            .await
    }

    async fn opened(
        &self,
        id: &str,
        owner: SessionOwner,
        upstream_id: Option<String>,
        version: &str,
        result: &str,
    ) -> McpReply {
        match self
            .sessions
            .open(owner, upstream_id, version.to_owned())
            .await
        {
            Ok((session, evicted)) => {
                self.end_upstream_sessions(evicted);
                McpReply::Answer {
                    body: jsonrpc::success(id, result),
                    session_id: Some(session.id),
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "opening an MCP session failed");
                metrics::store_error("sessions");
                McpReply::Refused {
                    refusal: Refusal::Unavailable,
                    body: render::sessions_unavailable(id),
                }
            }
        }
    }

    /// Ends, on the tool server, sessions the gateway has ended (evicted by a newer
    /// one of the same caller); in the background, since nobody waits for them.
    fn end_upstream_sessions(&self, ended: Vec<McpSession>) {
        let Some(upstream) = self.upstream.clone() else {
            return;
        };
        let ended: Vec<_> = ended
            .into_iter()
            .filter(|s| s.upstream_id.is_some())
            .collect();
        if ended.is_empty() {
            return;
        }
        tokio::spawn(async move {
            for session in ended {
                let headers = UpstreamHeaders {
                    session_id: session.upstream_id,
                    protocol_version: Some(session.protocol_version),
                    ..UpstreamHeaders::default()
                };
                if let Err(e) = upstream.end_session(&headers).await {
                    tracing::debug!(error = %e.detail(), "ending an evicted upstream session failed");
                }
            }
        });
    }

    /// `tools/list`, `server/discover`, `ping` and the data methods (`resources/*`,
    /// `prompts/*`, `completion/*`, `logging/*`).
    pub(super) async fn relay_request(
        &self,
        call: &McpCall,
        kind: MethodKind,
        session: Option<&McpSession>,
        token: Option<&Credential>,
    ) -> McpReply {
        let id = call.request.id_json();
        let Some(upstream) = &self.upstream else {
            let result = match kind {
                MethodKind::ListTools => r#"{"tools":[]}"#.to_owned(),
                MethodKind::Discover => discover_fallback(),
                MethodKind::Ping => "{}".to_owned(),
                _ => return McpReply::answer(render::method_not_found(&id, &call.request.method)),
            };
            return McpReply::answer(jsonrpc::success(&id, &result));
        };
        let exchanged = relay_message(upstream.as_ref(), call, session).await;
        if kind == MethodKind::Relayed {
            // Fail closed: what the tool server returned is not handed out unrecorded.
            if let Err(failure) = self.audit_relayed(call, token, session, &exchanged).await {
                return McpReply::answer(render::audit_failed(&id, &failure));
            }
        }
        let exchanged = match exchanged {
            Ok(e) => e,
            Err(f) => {
                return match session.filter(|s| lost_session(&f, s)) {
                    Some(s) => self.upstream_lost_session(call, s).await,
                    None => McpReply::answer(render::upstream_error(&id, &f)),
                };
            }
        };
        McpReply::answer(match exchanged.answer {
            Answer::Message(mut message) => {
                if !message.is_error() {
                    narrow(&mut message, kind, token);
                }
                message.relay(&id, None)
            }
            Answer::Empty => render::garbage_error(&id, &empty_body()),
            Answer::Garbage(why) => render::garbage_error(&id, &why),
        })
    }

    /// A notification, or the client's answer to a request of the tool server's:
    /// forwarded when the gateway relays its kind, then acknowledged.
    pub(super) async fn pass_on(&self, call: &McpCall, session: Option<&McpSession>) -> McpReply {
        let relayed = call.request.is_response() || relays_notification(&call.request.method);
        let Some(upstream) = self.upstream.as_ref().filter(|_| relayed) else {
            return McpReply::Accepted;
        };
        let headers = upstream_headers(call, session);
        let body = call.request.forward_body().into_bytes();
        match exchange(upstream.as_ref(), body, &headers, None).await {
            Ok(_) => McpReply::Accepted,
            Err(f) => match session.filter(|s| lost_session(&f, s)) {
                Some(s) => self.upstream_lost_session(call, s).await,
                None => McpReply::Refused {
                    refusal: Refusal::BadGateway,
                    body: render::upstream_error("null", &f),
                },
            },
        }
    }

    /// Records a relayed data method (`resources/read`, `prompts/get`, …): who asked
    /// for what, and what the tool server said.
    async fn audit_relayed(
        &self,
        call: &McpCall,
        token: Option<&Credential>,
        session: Option<&McpSession>,
        exchanged: &Result<Exchanged, UpstreamFailure>,
    ) -> Result<(), AuditFailure> {
        let (verdict, reason, status) = match exchanged {
            Ok(e) => (Verdict::Allow, "forwarded".to_owned(), e.status),
            Err(f) => (Verdict::Block, f.detail(), f.status()),
        };
        let mut event = self.relayed_event(call, token, verdict, &reason);
        event.check = Stage::Upstream.as_str().to_owned();
        event.upstream_status = i64::from(status);
        event.session_id = session.map(|s| s.id.clone()).unwrap_or_default();
        self.audit.record(event).await
    }

    /// Records a data method refused because of its token.
    pub(super) async fn audit_refused(&self, call: &McpCall, denial: &Denial) {
        let mut event = self.relayed_event(call, None, Verdict::Block, &denial.reason);
        event.check = denial.stage.as_str().to_owned();
        if let Err(failure) = self.audit.record(event).await {
            tracing::error!(error = %failure, "audit of a refused MCP request failed");
        }
    }

    /// An event for a relayed method: the method stands where a tool call names its
    /// tool, the names of its parameters where a call lists its arguments.
    fn relayed_event(
        &self,
        call: &McpCall,
        token: Option<&Credential>,
        verdict: Verdict,
        reason: &str,
    ) -> AuditEvent {
        let mut e = AuditEvent::new(self.clock.now(), verdict.as_str(), &call.request.method);
        e.reason = reason.to_owned();
        let mut params = call
            .request
            .params
            .as_deref()
            .and_then(|p| {
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(p.get()).ok()
            })
            .unwrap_or_default();
        params.remove("_meta");
        e.arg_keys = arg_keys(&params);
        // What was read (a resource URI, a prompt name) is kept as a call's argument
        // values are: as INTENTGATE_AUDIT_PERSIST_ARG_VALUES says.
        e.arg_values = redact_args(self.settings.arg_values, &params);
        if let Some(caller) = token {
            caller.stamp(&mut e);
        }
        e.latency_ms = i64::try_from(call.started.elapsed().as_millis()).unwrap_or(i64::MAX);
        e.remote_ip.clone_from(&call.remote_addr);
        e
    }
}

/// Forwards the message as the gateway read it, in `session` (none: outside any, as
/// `initialize` is).
async fn relay_message(
    upstream: &dyn ToolServer,
    call: &McpCall,
    session: Option<&McpSession>,
) -> Result<Exchanged, UpstreamFailure> {
    let headers = upstream_headers(call, session);
    let body = call.request.forward_body().into_bytes();
    exchange(upstream, body, &headers, call.interim.as_ref()).await
}

/// Cuts a relayed result down to what the caller may use.
fn narrow(message: &mut UpstreamMessage, kind: MethodKind, token: Option<&Credential>) {
    let Some(result) = &message.result else {
        return;
    };
    let narrowed = match (kind, token) {
        (MethodKind::ListTools, Some(token)) => {
            filter_tools(result.get(), |t| token.allows_tool(t))
        }
        (MethodKind::Discover, _) => filter_capabilities(result.get()),
        _ => return,
    };
    if let Ok(raw) = RawValue::from_string(narrowed) {
        message.result = Some(raw);
    }
}

/// The tool server answered 404 to a request that named its session: it has
/// forgotten the session (restart, expiry).
fn lost_session(failure: &UpstreamFailure, session: &McpSession) -> bool {
    session.upstream_id.is_some() && failure.status() == 404
}

/// The version `initialize` agreed on, from the result.
fn negotiated_version(result: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Init {
        #[serde(rename = "protocolVersion")]
        protocol_version: Option<String>,
    }
    serde_json::from_str::<Init>(result)
        .ok()
        .and_then(|i| i.protocol_version)
        .unwrap_or_else(|| DEFAULT_VERSION.to_owned())
}

/// Go's text for decoding an empty body.
fn empty_body() -> String {
    UpstreamMessage::parse(b"")
        .err()
        .unwrap_or_else(|| "unexpected end of JSON input".to_owned())
}

/// `server/discover` with no tool server: the stub's tools, every version served.
fn discover_fallback() -> String {
    let versions: Vec<String> = SUPPORTED_VERSIONS
        .iter()
        .map(|v| format!("\"{v}\""))
        .collect();
    format!(
        r#"{{"resultType":"complete","supportedVersions":[{}],"capabilities":{{"tools":{{}}}},"_meta":{{"io.modelcontextprotocol/serverInfo":{{"name":"intentgate","version":"0.2"}}}},"ttlMs":0,"cacheScope":"private"}}"#,
        versions.join(",")
    )
}

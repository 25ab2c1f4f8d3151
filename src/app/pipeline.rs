//! The `tools/call` pipeline: capability → intent → policy (→ approval) → budget →
//! upstream, each stage short-circuiting with one audit event. Every failure to check
//! (store down, extractor down, policy error) denies.

use std::sync::Arc;
use std::time::Instant;

use crate::domain::approval::{Approval, ApprovalStatus};
use crate::domain::audit::{AuditEvent, FORWARDING_REASON};
use crate::domain::budget;
use crate::domain::decision::{Denial, Stage, Verdict};
use crate::domain::intent;
use crate::domain::jsonrpc::UpstreamMessage;
use crate::domain::token::{CapabilityError, new_token_id};
use crate::ports::{CreateOutcome, UpstreamFailure};

use super::context::{CallContext, ToolCall};
use super::mcp::{Answer, exchange};
use super::{AuditFailure, Gateway, RandomnessUnavailable, random_bytes};
use crate::instruments::{self as metrics, CheckResult};

/// How a call ended.
#[derive(Debug)]
pub enum CallOutcome {
    /// Authorized with no upstream configured.
    Stub {
        latency_ms: i64,
    },
    /// The upstream answered with a JSON-RPC message (result or error).
    Forwarded {
        message: UpstreamMessage,
        latency_ms: i64,
    },
    /// The upstream accepted a notification with an empty body.
    Accepted,
    Denied(Denial),
    UpstreamFailed(UpstreamFailure),
    /// The upstream's body was not a JSON-RPC message; carries the parse error.
    UpstreamGarbage(String),
    /// The call's audit event could not be committed.
    AuditFailed(AuditFailure),
}

/// Why a stage stopped the call.
enum Stop {
    /// Denied; the block event is still to be recorded.
    Deny(Denial),
    /// Denied; the block event was already recorded.
    Recorded(Denial),
    Audit(AuditFailure),
}
impl From<AuditFailure> for Stop {
    fn from(f: AuditFailure) -> Self {
        Stop::Audit(f)
    }
}

/// Whether a check stage applied to the call (for the `skip` metric label).
enum Applied {
    Checked,
    Skipped,
}

/// Runs one stage and records its decision and duration.
async fn timed<E>(
    stage: &'static str,
    check: impl std::future::Future<Output = Result<Applied, E>>,
) -> Result<(), E> {
    let started = Instant::now();
    let result = check.await;
    let label = match &result {
        Ok(Applied::Checked) => CheckResult::Allow,
        Ok(Applied::Skipped) => CheckResult::Skip,
        Err(_) => CheckResult::Block,
    };
    record_stage(stage, label, started);
    result.map(|_| ())
}

fn record_stage(stage: &'static str, label: CheckResult, started: Instant) {
    metrics::check(stage, label, started.elapsed());
    // The request span (see the HTTP adapter) declares one field per stage.
    if metrics::request_fields_wanted() {
        tracing::Span::current().record(stage, metrics::label(label));
    }
}

/// Counts a call waiting for a human in the pending-approvals gauge for as long as
/// it waits, even if the request goes away mid-wait.
struct PendingApproval;

impl PendingApproval {
    fn start() -> Self {
        metrics::approvals_pending(1.0);
        Self
    }
}

impl Drop for PendingApproval {
    fn drop(&mut self) {
        metrics::approvals_pending(-1.0);
    }
}

impl Gateway {
    /// Runs the whole pipeline for one call.
    pub async fn tools_call(self: &Arc<Self>, req: &ToolCall) -> CallOutcome {
        let mut ctx = CallContext::new(req);
        let checks = async {
            timed("capability", self.check_capability(&mut ctx))
                .await
                .map_err(Stop::Deny)?;
            timed("intent", self.check_intent(&mut ctx))
                .await
                .map_err(Stop::Deny)?;
            self.check_policy(&mut ctx).await?;
            timed("budget", self.check_budget(&ctx))
                .await
                .map_err(Stop::Deny)
        };
        match checks.await {
            Ok(()) => self.forward(&ctx).await,
            Err(Stop::Audit(failure)) => CallOutcome::AuditFailed(failure),
            Err(Stop::Deny(denial)) => self.deny(&ctx, denial).await,
            Err(Stop::Recorded(denial)) => CallOutcome::Denied(denial),
        }
    }

    /// Records the block event; the call is denied whether or not that commit works.
    async fn deny(&self, ctx: &CallContext<'_>, denial: Denial) -> CallOutcome {
        let mut event = ctx.event(self, Verdict::Block, Some(denial.stage), &denial.reason);
        if denial.stage == Stage::Budget {
            event.requires_step_up = false; // as the reference: budget blocks drop it
        }
        event.pending_id = denial.pending_id.clone().unwrap_or_default();
        if let Err(failure) = self.audit.record(event).await {
            tracing::error!(error = %failure, "audit of a denied call failed");
        }
        CallOutcome::Denied(denial)
    }

    async fn check_capability(&self, ctx: &mut CallContext<'_>) -> Result<Applied, Denial> {
        let identified = match &ctx.req.verified_caller {
            Some(caller) => Ok(Some(caller.clone())),
            None => self.identify(ctx.req.authorization.as_deref()).await,
        };
        let Some(caller) = identified.map_err(|e| self.identification_denial(&e))? else {
            return match self.settings.require_capability {
                true => Err(self.identification_denial(&CapabilityError::Required)),
                false => Ok(Applied::Skipped),
            };
        };
        let revocation = self.revocation(&caller).await;
        // From here on the identity is known and goes on the audit event.
        let caller = ctx.caller.insert(caller);
        let deny = |e: CapabilityError| self.caller_denial(caller, &e);
        revocation.map_err(deny)?;
        caller
            .check_call(self.clock.now(), &ctx.req.params.name)
            .map(|()| Applied::Checked)
            .map_err(deny)
    }

    async fn check_intent(&self, ctx: &mut CallContext<'_>) -> Result<Applied, Denial> {
        let prompt = ctx
            .req
            .intent_prompt
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty());
        let required = self.settings.require_intent;
        let Some(prompt) = prompt else {
            return match required {
                true => Err(Denial::intent(
                    "intent prompt required (INTENTGATE_REQUIRE_INTENT=true)".into(),
                )),
                false => Ok(Applied::Skipped),
            };
        };
        let Some(extractor) = &self.extractor else {
            return match required {
                true => Err(Denial::intent(
                    "intent prompt provided but no extractor URL is configured".into(),
                )),
                false => Ok(Applied::Skipped),
            };
        };
        let extracted = extractor
            .extract(prompt, ctx.subject())
            .await
            .map_err(Denial::intent)?;
        let verdict = intent::check(&extracted, &ctx.req.params.name);
        ctx.intent = Some(extracted);
        verdict
            .map(|_| Applied::Checked)
            .map_err(|m| Denial::intent(m.to_string()))
    }

    /// The policy stage. Its metric covers the evaluation only (an escalation counts
    /// as `allow`, as in the reference), never the human wait that may follow.
    async fn check_policy(self: &Arc<Self>, ctx: &mut CallContext<'_>) -> Result<Applied, Stop> {
        let started = Instant::now();
        let decision = self.policy.evaluate(ctx.tenant(), ctx.policy_input());
        let label = match &decision {
            Ok(d) if d.allow || d.escalate => CheckResult::Allow,
            _ => CheckResult::Block,
        };
        record_stage("policy", label, started);
        let decision = decision.map_err(|e| Stop::Deny(Denial::policy(e)))?;
        ctx.requires_step_up = decision.requires_step_up;
        if decision.escalate {
            return self
                .escalate(ctx, &decision.reason)
                .await
                .map(|()| Applied::Checked);
        }
        match decision.allow {
            true => Ok(Applied::Checked),
            false => Err(Stop::Deny(Denial::policy(decision.reason))),
        }
    }

    /// Queues the call for a human and waits for the verdict.
    async fn escalate(self: &Arc<Self>, ctx: &CallContext<'_>, reason: &str) -> Result<(), Stop> {
        let Some(gate) = &self.approvals else {
            return Err(Stop::Deny(Denial::escalation_unavailable()));
        };
        let row = self
            .pending_row(ctx, reason)
            .map_err(|e| Stop::Deny(Denial::escalation_failed(format!("approval queue: {e}"))))?;
        let queued = gate.store().create(&row).await;
        match queued {
            Ok(CreateOutcome::Created) => {}
            Ok(CreateOutcome::AlreadyExists) => {
                let why = "approval queue: pending id collision".to_owned();
                return Err(Stop::Deny(Denial::escalation_failed(why)));
            }
            Err(e) => {
                metrics::store_error("approvals");
                return Err(Stop::Deny(Denial::escalation_failed(format!(
                    "approval queue: {e}"
                ))));
            }
        }
        let mut queued_event = ctx.event(
            self,
            Verdict::Escalate,
            Some(Stage::Policy),
            &format!("escalate: {reason}"),
        );
        queued_event.pending_id.clone_from(&row.pending_id);
        self.audit.record(queued_event).await?;
        let window = self.settings.approval_window;
        let waiting = PendingApproval::start();
        let decided = gate.wait(&row.pending_id, window).await;
        drop(waiting);
        let decided = decided
            .map_err(|e| Stop::Deny(Denial::escalation_failed(format!("approval wait: {e}"))))?;
        self.conclude_approval(ctx, &decided).await
    }

    fn pending_row(
        &self,
        ctx: &CallContext<'_>,
        reason: &str,
    ) -> Result<Approval, RandomnessUnavailable> {
        let now = self.clock.now();
        let caller = ctx.caller.as_ref();
        let args = &ctx.req.params.arguments;
        Ok(Approval {
            pending_id: new_token_id(now, random_bytes()?),
            tenant: ctx.tenant().to_owned(),
            capability_token_id: caller.map(|c| c.token_id().to_owned()).unwrap_or_default(),
            root_capability_token_id: caller
                .map(|c| c.root_token_id().to_owned())
                .unwrap_or_default(),
            agent_id: ctx.subject().to_owned(),
            tool: ctx.req.params.name.clone(),
            args: (!args.is_empty()).then(|| serde_json::Value::Object(args.clone())),
            intent_summary: ctx
                .intent
                .as_ref()
                .map(|i| i.summary.clone())
                .unwrap_or_default(),
            reason: reason.to_owned(),
            status: ApprovalStatus::Pending,
            created_at: now,
            decided_at: None,
            decided_by: String::new(),
            decide_note: String::new(),
            requires_step_up: ctx.requires_step_up,
        })
    }

    async fn conclude_approval(&self, ctx: &CallContext<'_>, row: &Approval) -> Result<(), Stop> {
        let reason = row.outcome_reason(self.settings.approval_window);
        let id = row.pending_id.clone();
        match row.status {
            ApprovalStatus::Approved => {
                let mut event = ctx.event(self, Verdict::Allow, Some(Stage::Policy), &reason);
                event.pending_id = id;
                event.decided_by.clone_from(&row.decided_by);
                self.audit.record(event).await?;
                Ok(())
            }
            ApprovalStatus::Rejected => {
                // Recorded here because the block event also names the reviewer.
                let mut event = ctx.event(self, Verdict::Block, Some(Stage::Policy), &reason);
                event.pending_id.clone_from(&id);
                event.decided_by.clone_from(&row.decided_by);
                self.audit.record(event).await?;
                Err(Stop::Recorded(Denial::rejected(reason, id)))
            }
            ApprovalStatus::Timeout => Err(Stop::Deny(Denial::approval_expired(reason, id))),
            ApprovalStatus::Pending => Err(Stop::Deny(Denial::escalation_failed(reason))),
        }
    }

    async fn check_budget(&self, ctx: &CallContext<'_>) -> Result<Applied, Denial> {
        let Some(caller) = &ctx.caller else {
            return match self.settings.require_budget {
                true => Err(Denial::budget(
                    "budget enforcement requires a verified capability token".into(),
                )),
                false => Ok(Applied::Skipped),
            };
        };
        let limits = caller.call_limits();
        if limits.is_empty() {
            return Ok(Applied::Checked); // the reference counts this as an allow
        }
        let key = caller.budget_key();
        let used = self
            .budgets
            .record_call(key, self.clock.now())
            .await
            .map_err(|e| {
                metrics::store_error("budgets");
                Denial::budget(format!("budget: increment: {e}"))
            })?;
        budget::check(used, &limits)
            .map(|()| Applied::Checked)
            .map_err(|e| Denial::budget(e.to_string()))
    }

    async fn forward(&self, ctx: &CallContext<'_>) -> CallOutcome {
        let Some(upstream) = &self.upstream else {
            let event = ctx.event(
                self,
                Verdict::Allow,
                None,
                "all four checks passed (stub upstream)",
            );
            return match self.audit.record(event).await {
                Ok(()) => CallOutcome::Stub {
                    latency_ms: ctx.latency_ms(),
                },
                Err(failure) => CallOutcome::AuditFailed(failure),
            };
        };
        if self.audit.durability() == crate::app::Durability::Sync {
            // The decision is durable before the tool server sees the call.
            let event = ctx.event(self, Verdict::Allow, None, FORWARDING_REASON);
            if let Err(failure) = self.audit.record(event).await {
                return CallOutcome::AuditFailed(failure);
            }
        }
        let sent = Instant::now();
        let body = ctx.req.forward_body.clone().into_bytes();
        let interim = ctx.req.interim.as_ref();
        let reply = exchange(upstream.as_ref(), body, &ctx.req.upstream_headers, interim).await;
        let outcome = match &reply {
            Ok(_) => "success",
            Err(UpstreamFailure::Timeout { .. }) => "timeout",
            Err(UpstreamFailure::Transport { .. }) => "transport",
            Err(UpstreamFailure::Http { .. }) => "upstream_http",
        };
        metrics::upstream(outcome, sent.elapsed());
        let label = match &reply {
            Ok(_) => CheckResult::Allow,
            Err(_) => CheckResult::Block,
        };
        record_stage("upstream", label, sent);
        let (outcome, event) = match reply {
            Err(failure) => {
                let mut e = ctx.event(
                    self,
                    Verdict::Block,
                    Some(Stage::Upstream),
                    &failure.detail(),
                );
                e.upstream_status = i64::from(failure.status());
                (CallOutcome::UpstreamFailed(failure), e)
            }
            Ok(reply) => {
                let (outcome, mut e) = self.upstream_outcome(ctx, reply.answer);
                e.upstream_status = i64::from(reply.status);
                (outcome, e)
            }
        };
        match self.audit.record(event).await {
            Ok(()) => outcome,
            Err(failure) => CallOutcome::AuditFailed(failure),
        }
    }

    /// The outcome of an answer and the event that records it.
    fn upstream_outcome(&self, ctx: &CallContext<'_>, answer: Answer) -> (CallOutcome, AuditEvent) {
        let forwarded = |outcome| {
            let e = ctx.event(self, Verdict::Allow, Some(Stage::Upstream), "forwarded");
            (outcome, e)
        };
        let garbage = |why: String| {
            let reason = format!("upstream returned non-JSON-RPC body: {why}");
            let e = ctx.event(self, Verdict::Block, Some(Stage::Upstream), &reason);
            (CallOutcome::UpstreamGarbage(why), e)
        };
        match answer {
            Answer::Empty if ctx.req.is_notification => forwarded(CallOutcome::Accepted),
            Answer::Empty => match UpstreamMessage::parse(b"") {
                Err(why) => garbage(why),
                Ok(_) => garbage("empty body".into()),
            },
            Answer::Garbage(why) => garbage(why),
            Answer::Message(message) => forwarded(CallOutcome::Forwarded {
                message,
                latency_ms: ctx.latency_ms(),
            }),
        }
    }
}

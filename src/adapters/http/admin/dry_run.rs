//! `POST /v1/admin/policies/dry-run`: request validation and the response shape; the
//! replay itself is [`crate::app::admin::DryRun`].

use super::dto::{
    DryRunRequest, DryRunResponse, DryRunSample, DryRunSummary, DryRunWindow, non_empty,
    non_empty_list,
};
use super::errors::ApiError;
use super::json_body::{JsonBody, LARGE_BODY};
use super::params::{body_tenant, time_param};
use super::typed_param::Text;
use crate::app::Gateway;
use crate::app::admin::{Caller, DryRun, DryRunError, DryRunReport};
use crate::domain::audit::AuditQuery;
use crate::domain::tenant::TenantScope;

pub async fn dry_run(
    caller: &Caller,
    gateway: &Gateway,
    body: &JsonBody<DryRunRequest, LARGE_BODY>,
) -> Result<DryRunResponse, ApiError> {
    let req: DryRunRequest = body.decode("invalid JSON body: ")?;
    if req.rego.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "missing required field \"rego\"".into(),
        ));
    }
    let tenant = body_tenant(caller, req.tenant.as_deref().unwrap_or_default())?;
    let (limit, max_samples) = DryRun::clamp(
        req.limit.unwrap_or_default(),
        req.max_samples.unwrap_or_default(),
    );
    let query = AuditQuery {
        // In the body an empty bound means none (its schema is a plain string).
        from: time_param(req.from.as_deref().filter(|v| !v.is_empty()), "from")?,
        to: time_param(req.to.as_deref().filter(|v| !v.is_empty()), "to")?,
        tenant: TenantScope::from_filter(&tenant),
        agent_id: req.agent_id.unwrap_or_default(),
        tool: req.tool.unwrap_or_default(),
        ..AuditQuery::default()
    };
    let run = DryRun {
        source: req.rego,
        query,
        limit,
        max_samples,
    };
    let report = run
        .run(gateway.policy.as_ref(), gateway.stores.audit.as_ref())
        .await
        .map_err(|e| match e {
            DryRunError::Compile(m) => ApiError::BadRequest(m),
            DryRunError::Store(cause) => ApiError::Store(cause),
        })?;
    let window = DryRunWindow {
        from: req.from.and_then(non_empty),
        to: req.to.and_then(non_empty),
        tenant: non_empty(tenant),
        limit,
    };
    Ok(response(report, window))
}

fn response(report: DryRunReport, window: DryRunWindow) -> DryRunResponse {
    let s = &report.summary;
    let change = |k: &str| s.changes.get(k).copied().unwrap_or(0);
    DryRunResponse {
        summary: DryRunSummary {
            events_evaluated: s.events_evaluated,
            would_allow: s.would_allow,
            would_block: s.would_block,
            would_escalate: s.would_escalate,
            policy_error: s.policy_error,
            allow_to_block: change("allow_to_block"),
            allow_to_escalate: change("allow_to_escalate"),
            block_to_allow: change("block_to_allow"),
            block_to_escalate: change("block_to_escalate"),
            escalate_to_allow: change("escalate_to_allow"),
            escalate_to_block: change("escalate_to_block"),
        },
        samples: report
            .samples
            .into_iter()
            .map(|x| DryRunSample {
                ts: x.ts,
                tool: x.tool,
                agent_id: non_empty(x.agent_id),
                tenant: non_empty(x.tenant),
                original_decision: Text::new(x.original_decision),
                original_check: non_empty(x.original_check),
                original_reason: non_empty(x.original_reason),
                candidate_decision: Text::new(x.candidate_decision),
                candidate_reason: non_empty(x.candidate_reason),
                candidate_error: non_empty(x.candidate_error),
                arg_keys: non_empty_list(x.arg_keys),
            })
            .collect(),
        warnings: non_empty_list(report.warnings),
        window,
    }
}

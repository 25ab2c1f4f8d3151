//! Policy dry-run: replays recorded calls through a candidate policy and reports what
//! would change (reference §2.12).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::AuditPages;
use crate::domain::audit::{AuditEvent, AuditQuery};
use crate::ports::{AuditChainStore, PolicyEngine, StoreError};

pub const DEFAULT_LIMIT: i64 = 10_000;
pub const MAX_LIMIT: i64 = 100_000;
pub const DEFAULT_SAMPLES: i64 = 100;
pub const MAX_SAMPLES: i64 = 1000;

/// A replay request, already scoped to the caller's tenant.
pub struct DryRun {
    pub source: String,
    /// Filters: agent, tool, tenant, from, to.
    pub query: AuditQuery,
    pub limit: i64,
    pub max_samples: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum DryRunError {
    #[error("{0}")]
    Compile(String),
    #[error("audit store error: {0}")]
    Store(#[from] StoreError),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DryRunSummary {
    pub events_evaluated: u64,
    pub would_allow: u64,
    pub would_block: u64,
    pub would_escalate: u64,
    pub policy_error: u64,
    /// Changed outcomes, keyed `"<original>_to_<candidate>"`.
    pub changes: BTreeMap<&'static str, u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DryRunSample {
    pub ts: String,
    pub tool: String,
    pub agent_id: String,
    pub tenant: String,
    pub original_decision: String,
    pub original_check: String,
    pub original_reason: String,
    pub candidate_decision: &'static str,
    pub candidate_reason: String,
    pub candidate_error: String,
    pub arg_keys: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DryRunReport {
    pub summary: DryRunSummary,
    pub samples: Vec<DryRunSample>,
    pub warnings: Vec<String>,
    pub limit: i64,
}

impl DryRun {
    pub fn clamp(limit: i64, max_samples: i64) -> (i64, i64) {
        let limit = if limit <= 0 {
            DEFAULT_LIMIT
        } else {
            limit.min(MAX_LIMIT)
        };
        let samples = if max_samples <= 0 {
            DEFAULT_SAMPLES
        } else {
            max_samples.min(MAX_SAMPLES)
        };
        (limit, samples)
    }

    pub async fn run(
        self,
        engine: &dyn PolicyEngine,
        store: &dyn AuditChainStore,
    ) -> Result<DryRunReport, DryRunError> {
        let candidate = engine
            .candidate(&self.source)
            .map_err(|e| DryRunError::Compile(format!("policy: compile candidate: {e}")))?;
        let mut pages = AuditPages::new(self.query, u64::try_from(self.limit).unwrap_or(0));
        let mut report = DryRunReport {
            summary: DryRunSummary::default(),
            samples: Vec::new(),
            warnings: Vec::new(),
            limit: self.limit,
        };
        let (mut with_values, cap) = (0u64, usize::try_from(self.max_samples).unwrap_or(0));
        loop {
            let page = pages.next(store).await?;
            if page.is_empty() {
                break;
            }
            for rec in &page {
                with_values += u64::from(has_values(&rec.event));
                let outcome = candidate(replay_input(&rec.event));
                report.tally(&rec.event, outcome, cap);
            }
            // Replays are CPU work: let request handling run between pages.
            tokio::task::yield_now().await;
        }
        report.samples.sort_by(|a, b| b.ts.cmp(&a.ts));
        report.warnings = warnings(&self.source, report.summary.events_evaluated, with_values);
        Ok(report)
    }
}

impl DryRunReport {
    fn tally(
        &mut self,
        e: &AuditEvent,
        outcome: Result<crate::domain::policy::PolicyDecision, String>,
        cap: usize,
    ) {
        let s = &mut self.summary;
        s.events_evaluated += 1;
        let (candidate, reason, error) = match outcome {
            Err(err) => ("error", String::new(), err),
            Ok(d) if d.escalate => ("escalate", d.reason, String::new()),
            Ok(d) if d.allow => ("allow", d.reason, String::new()),
            Ok(d) => ("block", d.reason, String::new()),
        };
        match candidate {
            "allow" => s.would_allow += 1,
            "block" => s.would_block += 1,
            "escalate" => s.would_escalate += 1,
            _ => s.policy_error += 1,
        }
        if candidate == e.decision {
            return;
        }
        if let Some(key) = change_key(&e.decision, candidate) {
            *s.changes.entry(key).or_default() += 1;
        }
        if self.samples.len() < cap {
            self.samples.push(DryRunSample {
                ts: e.ts.to_rfc3339_nano(),
                tool: e.tool.clone(),
                agent_id: e.agent_id.clone(),
                tenant: e.tenant.clone(),
                original_decision: e.decision.clone(),
                original_check: e.check.clone(),
                original_reason: e.reason.clone(),
                candidate_decision: candidate,
                candidate_reason: reason,
                candidate_error: error,
                arg_keys: e.arg_keys.clone(),
            });
        }
    }
}

/// The cross-tab keys the reference reports.
pub const CHANGE_KEYS: [&str; 6] = [
    "allow_to_block",
    "allow_to_escalate",
    "block_to_allow",
    "block_to_escalate",
    "escalate_to_allow",
    "escalate_to_block",
];

fn change_key(original: &str, candidate: &str) -> Option<&'static str> {
    let key = format!("{original}_to_{candidate}");
    CHANGE_KEYS.into_iter().find(|k| *k == key)
}

fn has_values(e: &AuditEvent) -> bool {
    matches!(&e.arg_values, Some(Value::Object(m)) if !m.is_empty())
}

/// The policy input a recorded call replays as: no capability object, argument values
/// when recorded, otherwise every argument key mapped to null.
fn replay_input(e: &AuditEvent) -> Value {
    let args = match &e.arg_values {
        Some(Value::Object(m)) if !m.is_empty() => Value::Object(m.clone()),
        _ => Value::Object(
            e.arg_keys
                .iter()
                .map(|k| (k.clone(), Value::Null))
                .collect(),
        ),
    };
    let mut input = Map::new();
    input.insert("tool".into(), Value::String(e.tool.clone()));
    input.insert("args".into(), args);
    input.insert("agent_id".into(), Value::String(e.agent_id.clone()));
    input.insert("session_id".into(), Value::String(e.session_id.clone()));
    if !e.intent_summary.is_empty() {
        let intent = Map::from_iter([("summary".into(), Value::String(e.intent_summary.clone()))]);
        input.insert("intent".into(), Value::Object(intent));
    }
    Value::Object(input)
}

/// Whether the source reads `input.args.<word>` (the reference's regex).
fn reads_arg_values(source: &str) -> bool {
    source.match_indices("input.args.").any(|(i, m)| {
        source[i + m.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

fn warnings(source: &str, evaluated: u64, with_values: u64) -> Vec<String> {
    let mut out = Vec::new();
    if reads_arg_values(source) && evaluated > 0 {
        out.push(if with_values == 0 {
            "the candidate reads input.args.* but no replayed event carries arg_values, so \
             argument values replay as null; set INTENTGATE_AUDIT_PERSIST_ARG_VALUES=scalars \
             to record them for future dry-runs"
                .to_owned()
        } else if with_values < evaluated {
            format!(
                "the candidate reads input.args.* but only {with_values} of {evaluated} replayed \
                 events carry argument values (recorded before and after a rolling upgrade or a \
                 configuration change); the rest replay as null: narrow or widen the time range \
                 to compare like with like"
            )
        } else {
            "the candidate reads input.args.*: replayed argument values had every string \
             redacted to null when recorded (scalars mode), so rules on string values cannot \
             match"
                .to_owned()
        });
    }
    if evaluated == 0 {
        out.push(
            "no audit events matched: widen the from/to window or relax the agent_id/tool/tenant \
             filters"
                .to_owned(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_argument_reads_like_the_reference_regex() {
        assert!(reads_arg_values("x if input.args.amount_eur > 1"));
        assert!(!reads_arg_values("x if input.args"));
        assert!(!reads_arg_values("x if input.tool == \"a\""));
    }

    #[test]
    fn replay_input_nulls_unrecorded_values() {
        let e = AuditEvent {
            tool: "t".into(),
            arg_keys: vec!["a".into()],
            ..AuditEvent::default()
        };
        let input = replay_input(&e);
        assert_eq!(input["args"], serde_json::json!({"a": null}));
        assert!(input.get("intent").is_none());
        assert!(input.get("capability").is_none());
    }

    #[test]
    fn only_changed_outcomes_are_cross_tabbed() {
        assert_eq!(change_key("allow", "block"), Some("allow_to_block"));
        assert_eq!(change_key("allow", "error"), None);
        assert_eq!(change_key("allow", "allow"), None);
    }
}

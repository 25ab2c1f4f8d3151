//! The gateway's instruments: every metric's name, its bounded label values, and the
//! calls that record it. A leaf module, so the application and the adapters (webhook,
//! SIEM, HTTP) record through the same names without the adapters depending on the
//! application. The `metrics` facade is a no-op until the Prometheus adapter installs
//! a recorder (`INTENTGATE_METRICS_ENABLED=true`). Labels are bounded: no tool, agent
//! or token.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use metrics::{Counter, Histogram, counter, gauge, histogram};

pub const HTTP_REQUESTS: &str = "intentgate_gateway_http_requests_total";
pub const HTTP_DURATION: &str = "intentgate_gateway_http_request_duration_seconds";
pub const CHECK_DECISIONS: &str = "intentgate_gateway_check_decisions_total";
pub const CHECK_DURATION: &str = "intentgate_gateway_check_duration_seconds";
pub const UPSTREAM_FORWARDS: &str = "intentgate_gateway_upstream_forward_total";
pub const UPSTREAM_DURATION: &str = "intentgate_gateway_upstream_forward_duration_seconds";
pub const REVOCATION_LOOKUPS: &str = "intentgate_gateway_revocation_lookups_total";
pub const REVOCATION_DURATION: &str = "intentgate_gateway_revocation_lookup_duration_seconds";
pub const AUDIT_APPEND_DURATION: &str = "intentgate_gateway_audit_append_duration_seconds";
pub const AUDIT_BATCH_SIZE: &str = "intentgate_gateway_audit_batch_size";
pub const AUDIT_QUEUE_DEPTH: &str = "intentgate_gateway_audit_queue_depth";
pub const AUDIT_DROPPED: &str = "intentgate_gateway_audit_dropped_total";
pub const AUDIT_FAILED: &str = "intentgate_gateway_audit_failed_total";
pub const AUDIT_HEAD_AGE: &str = "intentgate_gateway_audit_chain_head_age_seconds";
pub const AUDIT_EXPORT_TRUNCATED: &str = "intentgate_gateway_audit_export_truncated_total";
pub const STORE_ERRORS: &str = "intentgate_gateway_store_errors_total";
pub const APPROVALS_PENDING: &str = "intentgate_gateway_approvals_pending";
pub const WEBHOOK_DELIVERIES: &str = "intentgate_gateway_webhook_deliveries_total";
pub const WEBHOOK_DURATION: &str = "intentgate_gateway_webhook_delivery_duration_seconds";
pub const SIEM_EVENTS: &str = "intentgate_gateway_siem_events_total";
pub const OAUTH_TOKEN_FAILURES: &str = "intentgate_gateway_oauth_token_failures_total";
pub const OAUTH_KEY_FETCHES: &str = "intentgate_gateway_oauth_key_fetches_total";

/// Every series family `GET /metrics` can expose: histograms also expose `_bucket`,
/// `_sum` and `_count`; the process metrics come from the Prometheus adapter.
pub const EXPORTED: &[(&str, Kind)] = &[
    (HTTP_REQUESTS, Kind::Counter),
    (HTTP_DURATION, Kind::Histogram),
    (CHECK_DECISIONS, Kind::Counter),
    (CHECK_DURATION, Kind::Histogram),
    (UPSTREAM_FORWARDS, Kind::Counter),
    (UPSTREAM_DURATION, Kind::Histogram),
    (REVOCATION_LOOKUPS, Kind::Counter),
    (REVOCATION_DURATION, Kind::Histogram),
    (AUDIT_APPEND_DURATION, Kind::Histogram),
    (AUDIT_BATCH_SIZE, Kind::Histogram),
    (AUDIT_QUEUE_DEPTH, Kind::Gauge),
    (AUDIT_DROPPED, Kind::Counter),
    (AUDIT_FAILED, Kind::Counter),
    (AUDIT_HEAD_AGE, Kind::Gauge),
    (AUDIT_EXPORT_TRUNCATED, Kind::Counter),
    (STORE_ERRORS, Kind::Counter),
    (APPROVALS_PENDING, Kind::Gauge),
    (WEBHOOK_DELIVERIES, Kind::Counter),
    (WEBHOOK_DURATION, Kind::Histogram),
    (SIEM_EVENTS, Kind::Counter),
    (OAUTH_TOKEN_FAILURES, Kind::Counter),
    (OAUTH_KEY_FETCHES, Kind::Counter),
    ("process_cpu_seconds_total", Kind::Counter),
    ("process_resident_memory_bytes", Kind::Gauge),
    ("process_threads", Kind::Gauge),
    ("process_open_fds", Kind::Gauge),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Whether `series` (a name as it appears in PromQL) is one the gateway exports.
pub fn is_exported(series: &str) -> bool {
    EXPORTED.iter().any(|(name, kind)| {
        series == *name
            || (*kind == Kind::Histogram
                && ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|suffix| series.strip_suffix(suffix) == Some(name)))
    })
}

/// How a check stage ended, as the reference labels it (`escalate` counts as allow).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckResult {
    Allow,
    Block,
    /// The stage did not apply (no token in dev mode, no intent prompt, no limits).
    Skip,
}

/// The label of a stage result: `allow`, `block` or `skip`.
pub fn label(result: CheckResult) -> &'static str {
    match result {
        CheckResult::Allow => "allow",
        CheckResult::Block => "block",
        CheckResult::Skip => "skip",
    }
}

/// Set when request spans are exported (OpenTelemetry).
static SPANS_EXPORTED: AtomicBool = AtomicBool::new(false);

/// Request spans leave the process: their stage fields are wanted.
pub fn spans_exported() {
    SPANS_EXPORTED.store(true, Ordering::Relaxed);
}

/// Whether anyone reads the request span's stage and status fields: exported traces,
/// or the debug request line. Otherwise recording them (formatting each into the span)
/// is work nobody sees.
pub fn request_fields_wanted() -> bool {
    SPANS_EXPORTED.load(Ordering::Relaxed)
        || tracing::enabled!(target: "intentgate::adapters::http::server", tracing::Level::DEBUG)
}

/// The series every call records into, registered once: building a key from name and
/// labels and finding it in the registry on every call cost more than the recording.
struct CallSeries {
    /// Per stage: its decision counters (allow, block, skip) and its duration.
    checks: Vec<(&'static str, [Counter; 3], Histogram)>,
    /// Per outcome: its counter and duration.
    upstream: Vec<(&'static str, Counter, Histogram)>,
    revocations: Vec<(&'static str, Counter)>,
    revocation_duration: Histogram,
}

static CALL_SERIES: OnceLock<CallSeries> = OnceLock::new();

/// Registers the per-call series with the recorder just installed (the Prometheus
/// adapter calls this). Before it, calls record through the macros: into nothing
/// when no recorder is installed.
pub fn register_call_series() {
    CALL_SERIES.get_or_init(|| CallSeries {
        checks: CHECK_STAGES
            .iter()
            .map(|&stage| {
                let decision =
                    |r| counter!(CHECK_DECISIONS, "check" => stage, "decision" => label(r));
                let counters = CHECK_RESULTS.map(decision);
                (
                    stage,
                    counters,
                    histogram!(CHECK_DURATION, "check" => stage),
                )
            })
            .collect(),
        upstream: UPSTREAM_OUTCOMES
            .iter()
            .map(|&o| {
                let count = counter!(UPSTREAM_FORWARDS, "outcome" => o);
                (o, count, histogram!(UPSTREAM_DURATION, "outcome" => o))
            })
            .collect(),
        revocations: REVOCATION_RESULTS
            .iter()
            .map(|&r| (r, counter!(REVOCATION_LOOKUPS, "result" => r)))
            .collect(),
        revocation_duration: histogram!(REVOCATION_DURATION),
    });
}

fn result_index(result: CheckResult) -> usize {
    match result {
        CheckResult::Allow => 0,
        CheckResult::Block => 1,
        CheckResult::Skip => 2,
    }
}

pub fn check(stage: &'static str, result: CheckResult, took: Duration) {
    let series = CALL_SERIES
        .get()
        .and_then(|s| s.checks.iter().find(|(name, ..)| *name == stage));
    if let Some((_, counters, duration)) = series {
        counters[result_index(result)].increment(1);
        duration.record(took.as_secs_f64());
        return;
    }
    let decision = label(result);
    counter!(CHECK_DECISIONS, "check" => stage, "decision" => decision).increment(1);
    histogram!(CHECK_DURATION, "check" => stage).record(took.as_secs_f64());
}

/// `outcome`: success, timeout, transport or upstream_http.
pub fn upstream(outcome: &'static str, took: Duration) {
    let series = CALL_SERIES
        .get()
        .and_then(|s| s.upstream.iter().find(|(name, ..)| *name == outcome));
    if let Some((_, count, duration)) = series {
        count.increment(1);
        duration.record(took.as_secs_f64());
        return;
    }
    counter!(UPSTREAM_FORWARDS, "outcome" => outcome).increment(1);
    histogram!(UPSTREAM_DURATION, "outcome" => outcome).record(took.as_secs_f64());
}

/// `result`: revoked, not_revoked or error.
pub fn revocation_lookup(result: &'static str, took: Duration) {
    if let Some(series) = CALL_SERIES.get()
        && let Some((_, count)) = series.revocations.iter().find(|(name, _)| *name == result)
    {
        count.increment(1);
        series.revocation_duration.record(took.as_secs_f64());
        return;
    }
    counter!(REVOCATION_LOOKUPS, "result" => result).increment(1);
    histogram!(REVOCATION_DURATION).record(took.as_secs_f64());
}

/// One store append of `events` records.
/// One chain's run: how many events it held and how many of them failed.
pub fn audit_append(events: usize, took: Duration, failed: usize) {
    histogram!(AUDIT_APPEND_DURATION).record(took.as_secs_f64());
    histogram!(AUDIT_BATCH_SIZE).record(events as f64);
    if failed > 0 {
        counter!(AUDIT_FAILED).increment(failed as u64);
    }
}

pub fn audit_queue_depth(depth: usize) {
    gauge!(AUDIT_QUEUE_DEPTH).set(depth as f64);
}

pub fn audit_dropped() {
    counter!(AUDIT_DROPPED).increment(1);
}

pub fn export_truncated() {
    counter!(AUDIT_EXPORT_TRUNCATED).increment(1);
}

/// A storage port failed to answer. `port`: audit, revocations, budgets, approvals,
/// sessions.
pub fn store_error(port: &'static str) {
    counter!(STORE_ERRORS, "port" => port).increment(1);
}

pub fn approvals_pending(delta: f64) {
    gauge!(APPROVALS_PENDING).increment(delta);
}

/// The label values of the trouble series, bounded: each is exported at 0 from startup.
const CHECK_STAGES: [&str; 5] = ["capability", "intent", "policy", "budget", "upstream"];
const CHECK_RESULTS: [CheckResult; 3] = [CheckResult::Allow, CheckResult::Block, CheckResult::Skip];
const UPSTREAM_OUTCOMES: [&str; 4] = ["success", "timeout", "transport", "upstream_http"];
const REVOCATION_RESULTS: [&str; 3] = ["revoked", "not_revoked", "error"];
const STORE_PORTS: [&str; 5] = ["audit", "revocations", "budgets", "approvals", "sessions"];
const WEBHOOK_OUTCOMES: [&str; 3] = ["delivered", "failed", "dropped"];
/// SIEM event outcomes.
pub const SIEM_OUTCOMES: [&str; 3] = ["flushed", "failed", "dropped"];

/// Exports every counter and gauge of the core at 0, so a dashboard has a series before
/// the first event and `increase(…[5m]) > 0` sees the first failure. Sinks zero their
/// own series when they start.
pub fn export_zeroes() {
    for name in [AUDIT_DROPPED, AUDIT_FAILED, AUDIT_EXPORT_TRUNCATED] {
        counter!(name).increment(0);
    }
    for port in STORE_PORTS {
        counter!(STORE_ERRORS, "port" => port).increment(0);
    }
    for check in CHECK_STAGES {
        for result in CHECK_RESULTS {
            counter!(CHECK_DECISIONS, "check" => check, "decision" => label(result)).increment(0);
        }
    }
    for outcome in UPSTREAM_OUTCOMES {
        counter!(UPSTREAM_FORWARDS, "outcome" => outcome).increment(0);
    }
    for result in REVOCATION_RESULTS {
        counter!(REVOCATION_LOOKUPS, "result" => result).increment(0);
    }
    gauge!(APPROVALS_PENDING).increment(0.0);
    gauge!(AUDIT_QUEUE_DEPTH).increment(0.0);
}

/// Why access tokens were refused (`AccessTokenError::kind`).
const OAUTH_FAILURE_KINDS: [&str; 11] = [
    "malformed",
    "untrusted_issuer",
    "algorithm",
    "unknown_key",
    "keys_unavailable",
    "signature",
    "expired",
    "not_yet_valid",
    "audience",
    "claim",
    "sender_constrained",
];

/// Exports the OAuth counters at 0 (when issuers are configured).
pub fn oauth_started() {
    for reason in OAUTH_FAILURE_KINDS {
        counter!(OAUTH_TOKEN_FAILURES, "reason" => reason).increment(0);
    }
    for outcome in ["success", "failure"] {
        counter!(OAUTH_KEY_FETCHES, "outcome" => outcome).increment(0);
    }
}

/// An access token was refused; `reason` is one of the bounded kinds.
pub fn oauth_token_failure(reason: &'static str) {
    counter!(OAUTH_TOKEN_FAILURES, "reason" => reason).increment(1);
}

/// An issuer's keys were fetched (`success`) or could not be (`failure`).
pub fn oauth_key_fetch(ok: bool) {
    let outcome = if ok { "success" } else { "failure" };
    counter!(OAUTH_KEY_FETCHES, "outcome" => outcome).increment(1);
}

/// Exports the webhook's delivery counters at 0.
pub fn webhook_started() {
    for outcome in WEBHOOK_OUTCOMES {
        counter!(WEBHOOK_DELIVERIES, "outcome" => outcome).increment(0);
    }
}

/// `outcome`: delivered, failed or dropped.
pub fn webhook(outcome: &'static str, took: Option<Duration>) {
    counter!(WEBHOOK_DELIVERIES, "outcome" => outcome).increment(1);
    if let Some(took) = took {
        histogram!(WEBHOOK_DURATION).record(took.as_secs_f64());
    }
}

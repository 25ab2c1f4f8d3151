//! Prometheus exposition: installs the process-wide recorder with the reference's
//! histogram buckets, renders `GET /metrics`, and labels HTTP requests by route.

mod http;
mod process;

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub use http::{RecordHttp, route_label};

use crate::instruments as names;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// How often histogram samples are folded into their buckets.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// `start × 2^k` for `count` buckets.
fn exponential(start: f64, count: i32) -> Vec<f64> {
    (0..count).map(|k| start * 2f64.powi(k)).collect()
}

/// Installs the recorder once per process; later calls return the same handle.
/// `None` when another recorder was installed first.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE.get_or_init(build).as_ref()
}

fn build() -> Option<PrometheusHandle> {
    let buckets = [
        (names::HTTP_DURATION, exponential(0.001, 12)),
        (names::CHECK_DURATION, exponential(0.0001, 14)),
        (names::UPSTREAM_DURATION, exponential(0.001, 14)),
        (names::REVOCATION_DURATION, exponential(0.0001, 14)),
        (names::AUDIT_APPEND_DURATION, exponential(0.0001, 14)),
        (names::AUDIT_BATCH_SIZE, exponential(1.0, 11)),
        (names::WEBHOOK_DURATION, exponential(0.001, 14)),
    ];
    let mut builder = PrometheusBuilder::new();
    for (name, values) in buckets {
        builder = builder
            .set_buckets_for_metric(Matcher::Full(name.to_owned()), &values)
            .ok()?;
    }
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).ok()?;
    crate::instruments::register_call_series();
    // Histogram samples accumulate until upkeep drains them into buckets; without a
    // scraper nothing else would, and memory would grow with traffic.
    let upkeep = handle.clone();
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "metrics upkeep thread not started");
    }
    Some(handle)
}

/// The exposition text: every recorded metric plus the process metrics.
pub fn render(handle: &PrometheusHandle, head_age_secs: Option<f64>) -> String {
    if let Some(age) = head_age_secs {
        metrics::gauge!(names::AUDIT_HEAD_AGE).set(age);
    }
    let mut text = handle.render();
    process::append(&mut text);
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn buckets_match_the_reference() {
        let b = super::exponential(0.001, 12);
        assert_eq!(b.len(), 12);
        assert!((b[11] - 2.048).abs() < 1e-12);
    }
}

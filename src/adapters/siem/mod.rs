//! SIEM forwarders (reference `internal/siem`): Splunk HEC, Datadog Logs and Microsoft
//! Sentinel, each an [`EventSink`] that batches audit events (and checkpoints) on its
//! own task.
//!
//! Every destination shares the [`BatchingSink`] worker (bounded buffer, drop on
//! overflow, flush on size or interval, no retry) and differs only in its
//! [`Destination`]: wire format, credentials and endpoint.

mod batcher;
mod datadog;
mod delivery;
mod record;
mod sentinel;
mod splunk;

use std::sync::Arc;
use std::time::Duration;

pub use batcher::{BatchingSink, Destination};
pub use datadog::Datadog;
pub use delivery::{DeliveryError, ERROR_BODY_LIMIT};
pub use record::SiemRecord;
pub use sentinel::{MONITOR_SCOPE, Sentinel};
pub use splunk::Splunk;

use crate::config::siem::SiemSettings;
use crate::ports::{Clock, EventSink};

/// Total time one HTTP request to a SIEM may take (the reference's client timeout).
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Starts one sink per configured destination, in the order Splunk, Datadog, Sentinel.
/// Must be called inside a tokio runtime. Fails only if the HTTP client cannot be built
/// (TLS backend initialisation).
pub fn spawn(
    settings: &SiemSettings,
    clock: Arc<dyn Clock>,
) -> Result<Vec<Arc<dyn EventSink>>, reqwest::Error> {
    let client = reqwest::Client::builder().timeout(HTTP_TIMEOUT).build()?;
    let mut destinations: Vec<Arc<dyn Destination>> = Vec::new();
    if let Some(splunk) = &settings.splunk {
        destinations.push(Arc::new(Splunk::new(client.clone(), splunk.clone())));
    }
    if let Some(datadog) = &settings.datadog {
        destinations.push(Arc::new(Datadog::new(client.clone(), datadog.clone())));
    }
    if let Some(sentinel) = &settings.sentinel {
        let sentinel = Sentinel::new(client.clone(), sentinel.clone(), Arc::clone(&clock));
        destinations.push(Arc::new(sentinel));
    }
    Ok(destinations
        .into_iter()
        .map(|destination| {
            tracing::info!(
                sink = destination.name(),
                endpoint = %destination.endpoint(),
                "siem forwarder started"
            );
            let sink = BatchingSink::start(destination, settings.batch, Arc::clone(&clock));
            Arc::new(sink) as Arc<dyn EventSink>
        })
        .collect())
}

//! Outbound event sinks: webhooks and SIEM forwarders receive every committed audit
//! event, in commit order, and every checkpoint the log signs, and deliver them on
//! their own time.

use async_trait::async_trait;

use crate::domain::audit::checkpoint::SignedCheckpoint;
use crate::domain::audit::{AuditEvent, ChainedEvent};
use crate::domain::time::Timestamp;

/// What `GET /v1/admin/integrations` reports for a sink.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SinkStatus {
    /// `splunk`, `datadog`, `sentinel`, `webhook` or `stdout`.
    pub name: &'static str,
    /// Where events go (never credentials).
    pub endpoint: String,
    /// Last successful delivery or flush.
    pub last_flush: Option<Timestamp>,
    /// Events delivered.
    pub total_events: u64,
    /// Events lost. SIEM sinks: buffer overflows (the reference's meaning; failed flushes
    /// show as `last_error`). Webhook: overflows plus failed deliveries, as the
    /// reference's webhook status counts them.
    pub dropped_count: u64,
    /// Events accepted but not yet delivered or given up on: queued or in flight.
    pub undelivered: u64,
    /// Cleared by the next success.
    pub last_error: String,
}

#[async_trait]
pub trait EventSink: Send + Sync {
    /// Hands over one committed event. Must return at once, never blocking the
    /// request path: queue it, or drop it and count the drop.
    fn offer(&self, event: &AuditEvent);

    /// Hands over one committed run of a chain, in order; by default event by event.
    /// A sink that writes whole runs at once (the stdout echo) overrides it.
    fn offer_run(&self, records: &[ChainedEvent]) {
        for r in records {
            self.offer(&r.event);
        }
    }

    /// Hands over a checkpoint this replica just issued, so a copy lives outside the
    /// gateway (witnessing). Returns at once, as [`EventSink::offer`] does.
    fn offer_checkpoint(&self, checkpoint: &SignedCheckpoint);

    /// The sink's counters and last error.
    fn status(&self) -> SinkStatus;

    /// Delivers what is queued, then stops accepting events; idempotent. The caller
    /// bounds how long it waits.
    async fn shutdown(&self);
}

//! Datadog Logs intake (reference `internal/siem/datadog.go`): one POST per batch of a
//! JSON array of log entries, each carrying the audit event verbatim under `audit`.

use async_trait::async_trait;

use super::batcher::Destination;
use super::delivery::{self, DeliveryError};
use super::record::SiemRecord;
use crate::config::siem::DatadogSettings;
use crate::domain::audit::AuditEvent;
use crate::domain::gojson::write_str;

/// Delivers batches to the Datadog Logs intake.
pub struct Datadog {
    client: reqwest::Client,
    settings: DatadogSettings,
}

impl Datadog {
    pub fn new(client: reqwest::Client, settings: DatadogSettings) -> Self {
        Self { client, settings }
    }

    /// The request body: `[{"service":…,"ddsource":"intentgate","message":…,"status":…,
    /// "audit":…},…]` and a newline (Go's `json.Encoder` ends the value with one).
    pub fn body(&self, batch: &[SiemRecord]) -> String {
        let mut out = String::with_capacity(batch.len() * 768 + 2);
        out.push('[');
        for (i, record) in batch.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            self.entry(&mut out, record);
        }
        out.push_str("]\n");
        out
    }

    /// A checkpoint goes under `audit` too, with its own message, at `info`.
    fn entry(&self, out: &mut String, record: &SiemRecord) {
        let (message, status) = match record {
            SiemRecord::Event(event) => (message(event), status(event)),
            SiemRecord::Checkpoint(c) => (
                format!("checkpoint chain={} tree_size={}", c.chain, c.size),
                "info",
            ),
        };
        out.push_str("{\"service\":");
        write_str(out, &self.settings.service);
        out.push_str(",\"ddsource\":\"intentgate\",\"message\":");
        write_str(out, &message);
        out.push_str(",\"status\":");
        write_str(out, status);
        out.push_str(",\"audit\":");
        out.push_str(&record.to_json());
        out.push('}');
    }
}

/// The one-line summary Datadog shows in its message column:
/// `<decision> <check> tool=<tool> agent=<agent or (unknown)> reason=<reason>`.
pub fn message(event: &AuditEvent) -> String {
    let agent: &str = if event.agent_id.is_empty() {
        "(unknown)"
    } else {
        event.agent_id.as_str()
    };
    format!(
        "{} {} tool={} agent={agent} reason={}",
        event.decision, event.check, event.tool, event.reason
    )
}

/// Datadog severity: `warn` for a block, `info` for anything else.
pub fn status(event: &AuditEvent) -> &'static str {
    if event.decision == "block" {
        "warn"
    } else {
        "info"
    }
}

#[async_trait]
impl Destination for Datadog {
    fn name(&self) -> &'static str {
        "datadog"
    }

    fn endpoint(&self) -> String {
        self.settings.intake_url.clone()
    }

    async fn deliver(&self, batch: &[SiemRecord]) -> Result<(), DeliveryError> {
        let request = self
            .client
            .post(&self.settings.intake_url)
            .header("DD-API-KEY", self.settings.api_key.expose())
            .header("Content-Type", "application/json")
            .body(self.body(batch));
        delivery::send(request).await
    }
}

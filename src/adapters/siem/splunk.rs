//! Splunk HTTP Event Collector (reference `internal/siem/splunk.go`): one POST per batch
//! of newline-delimited HEC envelopes, each wrapping the audit event verbatim
//! (or a checkpoint's event).

use async_trait::async_trait;

use super::batcher::Destination;
use super::delivery::{self, DeliveryError};
use super::record::SiemRecord;
use crate::config::siem::SplunkSettings;
use crate::domain::gojson::{write_f64, write_str};

/// Delivers batches to a Splunk HEC endpoint.
pub struct Splunk {
    client: reqwest::Client,
    settings: SplunkSettings,
}

impl Splunk {
    pub fn new(client: reqwest::Client, settings: SplunkSettings) -> Self {
        Self { client, settings }
    }

    /// The request body: per event `{"time":…,"source":"intentgate","sourcetype":"_json",
    /// "index":…,"event":…}` and a newline (Go's `json.Encoder` ends every value with
    /// one). `time` is the event's epoch seconds as a float; `index` is left out when
    /// unset.
    pub fn body(&self, batch: &[SiemRecord]) -> String {
        let index = self.settings.index.as_deref().filter(|i| !i.is_empty());
        let mut out = String::with_capacity(batch.len() * 640);
        for record in batch {
            envelope(&mut out, record, index);
        }
        out
    }
}

fn envelope(out: &mut String, record: &SiemRecord, index: Option<&str>) {
    out.push_str("{\"time\":");
    // Go computes float64(UnixNano)/1e9 and prints the shortest round-trip digits.
    write_f64(out, record.ts().unix_nanos() as f64 / 1e9);
    out.push_str(",\"source\":\"intentgate\",\"sourcetype\":\"_json\"");
    if let Some(index) = index {
        out.push_str(",\"index\":");
        write_str(out, index);
    }
    out.push_str(",\"event\":");
    out.push_str(&record.to_json());
    out.push_str("}\n");
}

#[async_trait]
impl Destination for Splunk {
    fn name(&self) -> &'static str {
        "splunk"
    }

    fn endpoint(&self) -> String {
        self.settings.url.clone()
    }

    async fn deliver(&self, batch: &[SiemRecord]) -> Result<(), DeliveryError> {
        let request = self
            .client
            .post(&self.settings.url)
            .header(
                "Authorization",
                format!("Splunk {}", self.settings.token.expose()),
            )
            .header("Content-Type", "application/json")
            .body(self.body(batch));
        delivery::send(request).await
    }
}

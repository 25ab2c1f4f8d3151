//! The audit echo on stdout (`INTENTGATE_AUDIT_TARGET=stdout`, the default): one JSON
//! line per committed event, in commit order, as the reference prints them. A commit
//! round is written with one call, so lines of concurrent rounds never interleave.

use std::io::Write as _;

use async_trait::async_trait;

use crate::domain::audit::checkpoint::SignedCheckpoint;
use crate::domain::audit::{AuditEvent, ChainedEvent};
use crate::ports::{EventSink, SinkStatus};

pub struct StdoutEcho;

impl StdoutEcho {
    fn write(text: &str) {
        // A closed stdout must not fail the call whose event is already committed.
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
    }
}

#[async_trait]
impl EventSink for StdoutEcho {
    fn offer(&self, event: &AuditEvent) {
        let mut line = event.to_json();
        line.push('\n');
        Self::write(&line);
    }

    fn offer_run(&self, records: &[ChainedEvent]) {
        let mut text = String::with_capacity(records.len() * 512);
        for r in records {
            text.push_str(&r.event.to_json());
            text.push('\n');
        }
        Self::write(&text);
    }

    /// The echo is the audit stream in the reference's line format, which readers
    /// parse as events; checkpoints are served by the admin API and the other sinks.
    fn offer_checkpoint(&self, _checkpoint: &SignedCheckpoint) {}

    fn status(&self) -> SinkStatus {
        SinkStatus {
            name: "stdout",
            ..SinkStatus::default()
        }
    }

    async fn shutdown(&self) {
        let _ = std::io::stdout().lock().flush();
    }
}

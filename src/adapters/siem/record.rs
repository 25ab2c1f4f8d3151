//! What a SIEM batch carries: committed audit events, and the checkpoints the log
//! signs, so copies of those live in the SIEM too (witnessing).

use crate::domain::audit::AuditEvent;
use crate::domain::audit::checkpoint::SignedCheckpoint;
use crate::domain::time::Timestamp;

/// Events are nearly every record, so they are kept inline: boxing them to shrink the
/// rare checkpoint variant would cost an allocation per event.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum SiemRecord {
    /// Sent verbatim, as the reference sends it.
    Event(AuditEvent),
    /// Sent as [`SignedCheckpoint::to_event_json`].
    Checkpoint(SignedCheckpoint),
}

impl SiemRecord {
    /// When it happened: the event's time, or when the checkpoint was issued.
    pub fn ts(&self) -> Timestamp {
        match self {
            Self::Event(event) => event.ts,
            Self::Checkpoint(checkpoint) => checkpoint.issued_at,
        }
    }

    /// The JSON object each destination wraps in its own envelope.
    pub fn to_json(&self) -> String {
        match self {
            Self::Event(event) => event.to_json(),
            Self::Checkpoint(checkpoint) => checkpoint.to_event_json(),
        }
    }
}

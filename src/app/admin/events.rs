//! The audit events admin actions emit (reference §2.13).

use crate::app::Gateway;
use crate::domain::audit::AuditEvent;
use crate::domain::time::Timestamp;

/// Request facts copied onto admin events.
#[derive(Clone, Debug, Default)]
pub struct AdminContext {
    /// `host:port` of the peer, verbatim.
    pub remote_ip: String,
    /// `X-IntentGate-Elevation-Id`, already trimmed and length-checked.
    pub elevation_id: String,
}

impl AdminContext {
    /// Keeps an elevation id only when it is 1 to 128 bytes after trimming.
    pub fn new(remote_ip: String, elevation_header: Option<&str>) -> Self {
        let elevation_id = elevation_header
            .map(str::trim)
            .filter(|e| !e.is_empty() && e.len() <= 128)
            .unwrap_or_default()
            .to_owned();
        Self {
            remote_ip,
            elevation_id,
        }
    }
}

/// An admin event: `tool` is `admin/<action>`, latency 0.
pub fn admin_event(
    now: Timestamp,
    ctx: &AdminContext,
    decision: &str,
    check: &str,
    tool: &str,
    reason: String,
) -> AuditEvent {
    let mut e = AuditEvent::new(now, decision, tool);
    e.check = check.to_owned();
    e.reason = reason;
    e.remote_ip.clone_from(&ctx.remote_ip);
    e.elevation_id.clone_from(&ctx.elevation_id);
    e
}

/// The time admin writes are stamped with: microseconds, the precision every store
/// keeps, so an answer shows exactly what a later read returns.
pub fn admin_now(gateway: &Gateway) -> Timestamp {
    gateway.clock.now().truncate_to_micros()
}

/// Records an admin event after the action took effect; a failure is logged, since
/// the change itself cannot be undone.
pub async fn record_or_log(gateway: &Gateway, event: AuditEvent) {
    let tool = event.tool.clone();
    if let Err(e) = gateway.audit.record(event).await {
        tracing::error!(error = %e, tool, "admin audit event not recorded");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elevation_ids_are_trimmed_and_bounded() {
        let ok = AdminContext::new("1.2.3.4:5".into(), Some("  elev-9 "));
        assert_eq!(ok.elevation_id, "elev-9");
        let long = "x".repeat(129);
        assert_eq!(
            AdminContext::new(String::new(), Some(&long)).elevation_id,
            ""
        );
        assert_eq!(
            AdminContext::new(String::new(), Some("   ")).elevation_id,
            ""
        );
    }
}

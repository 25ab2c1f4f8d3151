//! Webhook delivery settings, read from the reference's `INTENTGATE_WEBHOOK_*` variables.

use std::time::Duration;

use super::Secret;

/// Delivery settings; `from_lookup` reads the reference's variables.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    pub url: String,
    /// Unset: deliveries are unsigned (a warning is logged at startup).
    pub secret: Option<Secret>,
    /// Event types to send; empty sends every type the filter selects.
    pub events: Vec<String>,
    pub capacity: usize,
    pub retries: u32,
    pub backoff: Duration,
    pub backoff_cap: Duration,
    pub attempt_timeout: Duration,
    pub delivery_timeout: Duration,
}

impl WebhookSettings {
    /// `None` when `INTENTGATE_WEBHOOK_URL` is unset.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let var = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let url = var("INTENTGATE_WEBHOOK_URL")?;
        let events = var("INTENTGATE_WEBHOOK_EVENTS")
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Some(Self {
            url,
            secret: var("INTENTGATE_WEBHOOK_SECRET").map(Secret::new),
            events,
            capacity: 256,
            retries: 3,
            backoff: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(10),
            delivery_timeout: Duration::from_secs(30),
        })
    }
}

//! One delivery: signed POST attempts with exponential backoff and jitter.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::WebhookSettings;
use crate::domain::time::Timestamp;
use crate::domain::webhook::{reference_signature, secret_key, standard_key, standard_signature};
use crate::ports::Clock;

/// How an attempt ended when it did not succeed.
enum Failure {
    /// Transport error, 429 or 5xx: worth another attempt.
    Retry(String),
    /// Any other status: the receiver said no.
    Final(String),
}

pub(super) struct Deliverer {
    client: reqwest::Client,
    url: String,
    /// The reference signature's key and the Standard Webhooks key, from one secret.
    keys: Option<(Vec<u8>, Vec<u8>)>,
    attempts: u32,
    backoff: Duration,
    backoff_cap: Duration,
    deadline: Duration,
    clock: Arc<dyn Clock>,
}

impl Deliverer {
    pub(super) fn new(s: &WebhookSettings, clock: Arc<dyn Clock>) -> Result<Self, reqwest::Error> {
        Ok(Self {
            client: reqwest::Client::builder()
                .timeout(s.attempt_timeout)
                .build()?,
            url: s.url.clone(),
            keys: s
                .secret
                .as_ref()
                .map(|k| (secret_key(k.expose()), standard_key(k.expose()))),
            attempts: s.retries + 1,
            backoff: s.backoff,
            backoff_cap: s.backoff_cap,
            deadline: s.delivery_timeout,
            clock,
        })
    }

    /// Delivers `body`, retrying within the delivery deadline; returns when it was
    /// accepted, or the reference's error text.
    pub(super) async fn deliver(&self, msg_id: &str, body: &str) -> Result<Timestamp, String> {
        let deadline = Instant::now() + self.deadline;
        let mut delay = self.backoff;
        let mut last = String::new();
        for attempt in 1..=self.attempts {
            match tokio::time::timeout_at(deadline, self.attempt(msg_id, body)).await {
                Err(_) => return Err("webhook: delivery deadline exceeded".into()),
                Ok(Ok(())) => return Ok(self.clock.now()),
                Ok(Err(Failure::Final(e))) => return Err(format!("webhook: {e}")),
                Ok(Err(Failure::Retry(e))) => last = e,
            }
            if attempt == self.attempts {
                break;
            }
            let pause = jitter(delay);
            if Instant::now() + pause >= deadline {
                break;
            }
            tokio::time::sleep(pause).await;
            delay = (delay * 2).min(self.backoff_cap);
        }
        Err(format!(
            "webhook: all {} attempts failed: {last}",
            self.attempts
        ))
    }

    async fn attempt(&self, msg_id: &str, body: &str) -> Result<(), Failure> {
        let now = self.clock.now().unix_seconds();
        let mut req = self
            .client
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("User-Agent", "intentgate-gateway/webhook")
            .header("webhook-id", msg_id)
            .header("webhook-timestamp", now.to_string());
        if let Some((reference, standard)) = &self.keys {
            req = req
                .header(
                    "X-IntentGate-Signature",
                    reference_signature(reference, body),
                )
                .header(
                    "webhook-signature",
                    standard_signature(standard, msg_id, now, body),
                );
        }
        let resp = req
            .body(body.to_owned())
            .send()
            .await
            .map_err(|e| Failure::Retry(e.without_url().to_string()))?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let snippet = read_prefix(resp, 512).await;
        let message = format!("HTTP {status}: {snippet}");
        if status == 429 || status >= 500 {
            Err(Failure::Retry(message))
        } else {
            Err(Failure::Final(message))
        }
    }
}

/// At most `limit` bytes of an error answer's body (a receiver may send anything).
async fn read_prefix(mut resp: reqwest::Response, limit: usize) -> String {
    let mut body = Vec::new();
    while body.len() < limit {
        match resp.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(limit);
    String::from_utf8_lossy(&body).into_owned()
}

/// Between half and all of `delay`, so that many gateways retrying one receiver
/// spread out.
fn jitter(delay: Duration) -> Duration {
    let mut byte = [0u8; 1];
    let _ = getrandom::fill(&mut byte);
    delay.mul_f64(0.5 + f64::from(byte[0]) / 510.0)
}

#[cfg(test)]
mod tests {
    use super::jitter;
    use std::time::Duration;

    #[test]
    fn jitter_stays_between_half_and_all() {
        for _ in 0..100 {
            let d = jitter(Duration::from_millis(1000));
            assert!(
                d >= Duration::from_millis(500) && d <= Duration::from_millis(1000),
                "{d:?}"
            );
        }
    }
}

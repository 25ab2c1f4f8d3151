//! Microsoft Sentinel through the Azure Monitor Logs Ingestion API (reference
//! `internal/siem/sentinel.go`).
//!
//! Authentication is OAuth2 client credentials against Azure AD. The first token is
//! fetched lazily at the first flush (so startup never waits on Azure and auth failures
//! show up as `last_error`), then cached until five minutes before it expires. A 401 or
//! 403 from the ingestion endpoint drops the cached token, so the next flush
//! authenticates afresh.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use super::batcher::Destination;
use super::delivery::{self, DeliveryError};
use super::record::SiemRecord;
use crate::config::Secret;
use crate::config::siem::SentinelSettings;
use crate::domain::time::Timestamp;
use crate::domain::urlencode;
use crate::ports::Clock;

/// The OAuth2 scope of the Logs Ingestion API (the double slash is Azure's).
pub const MONITOR_SCOPE: &str = "https://monitor.azure.com//.default";
/// A cached token is renewed this long before it expires, so that no request is
/// in flight when it does.
const REFRESH_WINDOW_SECS: i64 = 300;
/// Lifetime assumed when the token endpoint gives none.
const DEFAULT_EXPIRES_IN_SECS: i64 = 3600;

struct CachedToken {
    value: Secret,
    /// Past this instant the token is fetched again.
    renew_at: Timestamp,
}

/// The token endpoint's answer; other fields are ignored.
#[derive(serde::Deserialize)]
struct TokenReply {
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    expires_in: i64,
}

/// Delivers batches to a Data Collection Rule stream.
pub struct Sentinel {
    client: reqwest::Client,
    settings: SentinelSettings,
    clock: Arc<dyn Clock>,
    token: Mutex<Option<CachedToken>>,
}

impl Sentinel {
    pub fn new(client: reqwest::Client, settings: SentinelSettings, clock: Arc<dyn Clock>) -> Self {
        Self {
            client,
            settings,
            clock,
            token: Mutex::new(None),
        }
    }

    /// The token request body. Keys are sorted, as Go's `url.Values.Encode` writes them.
    pub fn token_form(&self) -> String {
        urlencode::form(&[
            ("client_id", self.settings.client_id.as_str()),
            ("client_secret", self.settings.client_secret.expose()),
            ("grant_type", "client_credentials"),
            ("scope", MONITOR_SCOPE),
        ])
    }

    /// The request body: the events as one JSON array (Go's `json.Marshal`, so no
    /// trailing newline).
    pub fn body(batch: &[SiemRecord]) -> String {
        let mut out = String::with_capacity(batch.len() * 512 + 2);
        out.push('[');
        for (i, record) in batch.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&record.to_json());
        }
        out.push(']');
        out
    }

    fn cache(&self) -> MutexGuard<'_, Option<CachedToken>> {
        self.token.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached token while it is fresh, else a new one from the token endpoint.
    async fn token(&self) -> Result<Secret, DeliveryError> {
        let now = self.clock.now();
        let cached = self
            .cache()
            .as_ref()
            .filter(|token| now < token.renew_at)
            .map(|token| token.value.clone());
        if let Some(token) = cached {
            return Ok(token);
        }
        let (value, expires_in) = self
            .fetch_token()
            .await
            .map_err(|e| e.context("token endpoint"))?;
        let renew_at = self
            .clock
            .now()
            .plus_seconds(expires_in - REFRESH_WINDOW_SECS);
        *self.cache() = Some(CachedToken {
            value: value.clone(),
            renew_at,
        });
        Ok(value)
    }

    /// One client-credentials exchange: the access token and its lifetime in seconds.
    async fn fetch_token(&self) -> Result<(Secret, i64), DeliveryError> {
        let response = self
            .client
            .post(&self.settings.token_url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(self.token_form())
            .send()
            .await
            .map_err(|e| DeliveryError::transport(&e))?;
        let body = delivery::check_status(response)
            .await?
            .bytes()
            .await
            .map_err(|e| DeliveryError::transport(&e))?;
        let reply: TokenReply = serde_json::from_slice(&body)
            .map_err(|e| DeliveryError::Permanent(format!("decode: {e}")))?;
        if reply.access_token.is_empty() {
            return Err(DeliveryError::Permanent("empty access_token".into()));
        }
        let expires_in = if reply.expires_in > 0 {
            reply.expires_in
        } else {
            DEFAULT_EXPIRES_IN_SECS
        };
        Ok((Secret::new(reply.access_token), expires_in))
    }
}

#[async_trait]
impl Destination for Sentinel {
    fn name(&self) -> &'static str {
        "sentinel"
    }

    /// The DCE URL: identifies the workspace route without any credential.
    fn endpoint(&self) -> String {
        self.settings.dce_url.clone()
    }

    async fn deliver(&self, batch: &[SiemRecord]) -> Result<(), DeliveryError> {
        let token = self.token().await?;
        let response = self
            .client
            .post(&self.settings.ingest_url)
            .header("Authorization", format!("Bearer {}", token.expose()))
            .header("Content-Type", "application/json")
            .body(Self::body(batch))
            .send()
            .await
            .map_err(|e| DeliveryError::transport(&e))?;
        if matches!(response.status().as_u16(), 401 | 403) {
            // The token was revoked or the principal's rights changed mid-window.
            *self.cache() = None;
        }
        delivery::check_status(response).await?;
        Ok(())
    }
}

//! The intent extractor client (`POST <base>/v1/extract`) and its cache.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use lru::LruCache;
use sha2::{Digest, Sha256};

use super::outbound::{MAX_BODY_BYTES, error_chain, read_capped};
use crate::domain::gojson::ObjectWriter;
use crate::domain::intent::Intent;
use crate::domain::time::Timestamp;
use crate::ports::{Clock, IntentExtractor};

/// How long the extractor may take.
pub const EXTRACTOR_TIMEOUT: Duration = Duration::from_secs(10);

/// Calls the extractor service over HTTP.
pub struct HttpExtractor {
    client: reqwest::Client,
    url: String,
}

impl HttpExtractor {
    /// `base_url` is used as given, like the reference (a trailing slash yields `//v1/extract`).
    pub fn new(base_url: &str) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(EXTRACTOR_TIMEOUT)
            .build()?;
        Ok(Self {
            client,
            url: format!("{base_url}/v1/extract"),
        })
    }
}

#[derive(serde::Deserialize)]
struct ExtractReply {
    #[serde(default)]
    intent: Intent,
}

#[async_trait]
impl IntentExtractor for HttpExtractor {
    async fn extract(&self, prompt: &str, agent_id: &str) -> Result<Intent, String> {
        let mut body = String::with_capacity(prompt.len() + 64);
        let mut w = ObjectWriter::new(&mut body);
        w.str("prompt", prompt).str_opt("agent_id", agent_id);
        w.finish();
        let response = self
            .client
            .post(&self.url)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "extractor request: Post {:?}: {}",
                    self.url,
                    error_chain(&e)
                )
            })?;
        let status = response.status();
        let body = read_capped(http::Response::from(response).into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|e| format!("extractor read: {}", error_chain(&e)))?
            .ok_or("extractor read: response body over 1 MiB")?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            return Err(format!("extractor returned {status}: {}", text.trim()));
        }
        parse_reply(&body)
    }
}

/// The intent in an extractor's answer body (`{"intent": {…}}`).
pub fn parse_reply(body: &[u8]) -> Result<Intent, String> {
    serde_json::from_slice::<ExtractReply>(body)
        .map(|reply| reply.intent)
        .map_err(|e| format!("extractor decode: {e}"))
}

/// Remembers successful extractions per (prompt, agent) for a while. Failures are not
/// cached. Keys are SHA-256 digests, so prompts are not kept in memory.
pub struct CachedExtractor {
    inner: Arc<dyn IntentExtractor>,
    clock: Arc<dyn Clock>,
    ttl_secs: i64,
    entries: Mutex<LruCache<[u8; 32], (Intent, Timestamp)>>,
}

impl CachedExtractor {
    pub fn new(
        inner: Arc<dyn IntentExtractor>,
        clock: Arc<dyn Clock>,
        capacity: NonZeroUsize,
        ttl_secs: i64,
    ) -> Self {
        Self {
            inner,
            clock,
            ttl_secs,
            entries: Mutex::new(LruCache::new(capacity)),
        }
    }

    fn key(prompt: &str, agent_id: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(prompt.as_bytes());
        h.update([0u8]);
        h.update(agent_id.as_bytes());
        h.finalize().into()
    }
}

#[async_trait]
impl IntentExtractor for CachedExtractor {
    async fn extract(&self, prompt: &str, agent_id: &str) -> Result<Intent, String> {
        let key = Self::key(prompt, agent_id);
        let now = self.clock.now();
        {
            let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
            match entries.get(&key) {
                Some((intent, stored)) if now < stored.plus_seconds(self.ttl_secs) => {
                    return Ok(intent.clone());
                }
                Some(_) => {
                    entries.pop(&key);
                }
                None => {}
            }
        }
        let intent = self.inner.extract(prompt, agent_id).await?;
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.put(key, (intent.clone(), now));
        Ok(intent)
    }
}

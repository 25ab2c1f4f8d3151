//! The intent extractor service.

use async_trait::async_trait;

use crate::domain::intent::Intent;

#[async_trait]
pub trait IntentExtractor: Send + Sync {
    /// What the user's `prompt` asks for, extracted for `agent_id` (may be empty).
    /// `Err` carries the reference's error text (`extractor request: …`,
    /// `extractor returned <status>: <body>`, `extractor decode: …`); callers deny.
    async fn extract(&self, prompt: &str, agent_id: &str) -> Result<Intent, String>;
}

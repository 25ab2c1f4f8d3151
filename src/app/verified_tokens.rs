//! Capability tokens whose signature already verified, by their exact text. Verifying
//! is deterministic in the token's bytes and the master key, which does not change
//! while the process runs; an agent presents the same token for many calls, and
//! decoding it and walking its MAC chain again each time was a fifth of a call's
//! instructions. Revocation and every caveat are still checked on every call.

use std::num::NonZeroUsize;
use std::sync::{Mutex, PoisonError};

use lru::LruCache;

use crate::domain::token::Token;

/// How many verified tokens are remembered.
const ENTRIES: usize = 1024;

pub struct VerifiedTokens {
    cache: Mutex<LruCache<Box<str>, Token>>,
}

impl Default for VerifiedTokens {
    fn default() -> Self {
        let capacity = NonZeroUsize::new(ENTRIES).unwrap_or(NonZeroUsize::MIN);
        Self {
            cache: Mutex::new(LruCache::new(capacity)),
        }
    }
}

impl VerifiedTokens {
    /// The token `text` decoded to, if it verified before.
    pub fn get(&self, text: &str) -> Option<Token> {
        self.lock().get(text).cloned()
    }

    /// Remembers `token`, which `text` decoded to and whose signature verified.
    pub fn remember(&self, text: &str, token: &Token) {
        self.lock().put(text.into(), token.clone());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<Box<str>, Token>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_text_is_remembered_and_the_oldest_goes_first() {
        let tokens = VerifiedTokens::default();
        let token = Token {
            jti: "j1".into(),
            sub: "agent".into(),
            ..Token::default()
        };
        tokens.remember("text-1", &token);
        assert_eq!(tokens.get("text-1"), Some(token.clone()));
        assert_eq!(tokens.get("text-1 "), None);
        assert_eq!(tokens.get("text-2"), None);
        for i in 0..ENTRIES {
            tokens.remember(&format!("other-{i}"), &token);
        }
        assert_eq!(tokens.get("text-1"), None, "evicted by newer tokens");
    }
}

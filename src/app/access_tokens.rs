//! OAuth access tokens: the trusted issuers' keys, kept current, and each token checked
//! against them. Fail closed: with no key of its issuer, a token is refused.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use lru::LruCache;
use sha2::{Digest, Sha256};

use crate::domain::oauth::{self, AccessRules, AccessToken, AccessTokenError, IssuerKeys};
use crate::domain::time::Timestamp;
use crate::instruments as metrics;
use crate::ports::{Clock, IssuerKeysSource};

/// How often keys may be fetched again for a token signed by an unknown key, and how
/// often they are fetched anyway (so a key the issuer withdrew stops verifying).
#[derive(Clone, Copy, Debug)]
pub struct KeyRefresh {
    pub min_interval: Duration,
    pub every: Duration,
}

pub struct AccessTokens {
    rules: AccessRules,
    source: Arc<dyn IssuerKeysSource>,
    clock: Arc<dyn Clock>,
    refresh: KeyRefresh,
    issuers: HashMap<String, IssuerState>,
    /// Tokens verified under the current keys, by the SHA-256 of the token: a client
    /// presents the same token for many calls, and a signature check (ECDSA, RSA)
    /// costs more than the rest of the credential stage.
    verified: Mutex<LruCache<[u8; 32], Verified>>,
    /// Bumped whenever keys are (re)loaded: what was verified under older keys is
    /// verified again, so a withdrawn key stops working at the next refresh.
    generation: AtomicU64,
}

/// How many verified tokens are remembered.
const VERIFIED_CACHE_ENTRIES: usize = 4096;

struct Verified {
    token: AccessToken,
    generation: u64,
}

#[derive(Default)]
struct IssuerState {
    keys: ArcSwapOption<IssuerKeys>,
    /// One fetch at a time per issuer; callers that waited reuse its result.
    fetching: tokio::sync::Mutex<()>,
    last: Mutex<FetchRecord>,
}

#[derive(Default, Clone)]
struct FetchRecord {
    attempted: Option<Instant>,
    /// When the keys held were fetched (for their age), and as the status reports it.
    loaded: Option<Instant>,
    loaded_at: Option<Timestamp>,
    error: Option<String>,
}

/// Keys not confirmed by the issuer for this many refresh periods are dropped: an issuer
/// that cannot be reached must not keep a key it withdrew trusted for ever.
const KEYS_MAX_AGE_REFRESHES: u32 = 4;

/// One issuer as `/readyz` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerStatus {
    pub issuer: String,
    pub keys: usize,
    /// When its keys were last fetched.
    pub loaded_at: Option<Timestamp>,
    /// Why the last fetch failed, if it did.
    pub error: Option<String>,
}

impl AccessTokens {
    pub fn new(
        rules: AccessRules,
        source: Arc<dyn IssuerKeysSource>,
        clock: Arc<dyn Clock>,
        refresh: KeyRefresh,
    ) -> Self {
        let issuers = rules
            .issuers
            .iter()
            .map(|i| (i.issuer.clone(), IssuerState::default()))
            .collect();
        Self {
            rules,
            source,
            clock,
            refresh,
            issuers,
            verified: Mutex::new(LruCache::new(
                NonZeroUsize::new(VERIFIED_CACHE_ENTRIES).unwrap_or(NonZeroUsize::MIN),
            )),
            generation: AtomicU64::new(0),
        }
    }

    pub fn rules(&self) -> &AccessRules {
        &self.rules
    }

    /// Verifies `jwt` at `now`. A token signed by a key the cached set lacks makes the
    /// issuer's keys be fetched again (at most once per `min_interval`), so a rotation
    /// is followed. Every refusal is counted by reason.
    pub async fn verify(&self, jwt: &str, now: Timestamp) -> Result<AccessToken, AccessTokenError> {
        let digest: [u8; 32] = Sha256::digest(jwt.as_bytes()).into();
        if let Some(token) = self.remembered(&digest, now) {
            return Ok(token);
        }
        let generation = self.generation.load(Ordering::Acquire);
        let verified = self.verify_uncounted(jwt, now).await;
        match &verified {
            Ok(token) => {
                let entry = Verified {
                    token: token.clone(),
                    generation,
                };
                self.cache().put(digest, entry);
            }
            Err(e) => metrics::oauth_token_failure(e.kind()),
        }
        verified
    }

    /// A token verified before under the keys held now, if it has not expired since.
    fn remembered(&self, digest: &[u8; 32], now: Timestamp) -> Option<AccessToken> {
        let mut cache = self.cache();
        let entry = cache.get(digest)?;
        let fresh = entry.generation == self.generation.load(Ordering::Acquire)
            && now.unix_seconds()
                <= entry
                    .token
                    .expires_at
                    .saturating_add(self.rules.leeway_secs);
        if !fresh {
            cache.pop(digest);
            return None;
        }
        Some(entry.token.clone())
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, LruCache<[u8; 32], Verified>> {
        self.verified.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn verify_uncounted(
        &self,
        jwt: &str,
        now: Timestamp,
    ) -> Result<AccessToken, AccessTokenError> {
        let issuer = oauth::peek_issuer(jwt)?;
        let Some(state) = self.issuers.get(&issuer) else {
            return Err(AccessTokenError::UntrustedIssuer(oauth::clipped(&issuer)));
        };
        if let Some(keys) = state.keys.load_full() {
            match oauth::verify(jwt, &keys, &self.rules, now) {
                Err(AccessTokenError::UnknownKey { .. }) => {}
                done => return done,
            }
        }
        self.fetch(&issuer, state, false).await;
        match state.keys.load_full() {
            Some(keys) => oauth::verify(jwt, &keys, &self.rules, now),
            None => Err(AccessTokenError::KeysUnavailable { issuer }),
        }
    }

    /// Fetches every issuer's keys (at startup and every `refresh.every`).
    pub async fn refresh_all(&self) {
        for (issuer, state) in &self.issuers {
            self.fetch(issuer, state, true).await;
        }
    }

    pub fn refresh_every(&self) -> Duration {
        self.refresh.every
    }

    /// Fetches `issuer`'s keys unless another caller just did (`scheduled` fetches
    /// always run). A failure keeps the keys already held.
    async fn fetch(&self, issuer: &str, state: &IssuerState, scheduled: bool) {
        let asked = Instant::now();
        let _turn = state.fetching.lock().await;
        let last = state.record().attempted;
        let recent = last.is_some_and(|at| at >= asked || at.elapsed() < self.refresh.min_interval);
        if recent && !scheduled {
            return;
        }
        let fetched = self.source.fetch(issuer).await;
        metrics::oauth_key_fetch(fetched.is_ok());
        let mut record = state.last.lock().unwrap_or_else(PoisonError::into_inner);
        record.attempted = Some(Instant::now());
        match fetched {
            Ok(keys) => {
                if keys.skipped > 0 {
                    tracing::info!(
                        issuer,
                        skipped = keys.skipped,
                        "JWKS keys that cannot verify signatures were skipped"
                    );
                }
                tracing::debug!(issuer, keys = keys.len(), "issuer signing keys loaded");
                record.loaded = Some(Instant::now());
                record.loaded_at = Some(self.clock.now());
                record.error = None;
                state.keys.store(Some(Arc::new(keys)));
                self.generation.fetch_add(1, Ordering::AcqRel);
            }
            Err(why) => {
                tracing::warn!(issuer, error = %why, "fetching the issuer's signing keys failed");
                record.error = Some(why);
                let max_age = self.refresh.every.saturating_mul(KEYS_MAX_AGE_REFRESHES);
                if record.loaded.is_some_and(|at| at.elapsed() > max_age) {
                    tracing::error!(
                        issuer,
                        max_age_secs = max_age.as_secs(),
                        "the issuer's keys were not confirmed in time and are dropped; its tokens are refused until it answers"
                    );
                    record.loaded = None;
                    state.keys.store(None);
                    self.generation.fetch_add(1, Ordering::AcqRel);
                }
            }
        }
    }

    /// Each issuer's keys and last fetch, in configuration order.
    pub fn status(&self) -> Vec<IssuerStatus> {
        self.rules
            .issuers
            .iter()
            .filter_map(|i| {
                let state = self.issuers.get(&i.issuer)?;
                let record = state.record();
                Some(IssuerStatus {
                    issuer: i.issuer.clone(),
                    keys: state.keys.load().as_ref().map_or(0, |k| k.len()),
                    loaded_at: record.loaded_at,
                    error: record.error,
                })
            })
            .collect()
    }
}

impl IssuerState {
    fn record(&self) -> FetchRecord {
        self.last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use async_trait::async_trait;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use serde_json::json;

    use super::*;
    use crate::domain::oauth::{DEFAULT_ALGORITHMS, TrustedIssuer};

    const RSA: &[u8] = include_bytes!("../../tests/fixtures/oauth/rsa.der");
    const RSA_JWK: &str = include_str!("../../tests/fixtures/oauth/rsa.jwk.json");
    const ISS: &str = "https://as.test";
    const NOW: i64 = 1_800_000_000;

    /// Serves the fixture key unless `withdrawn`, fails while `down`; counts fetches.
    #[derive(Default)]
    struct Source {
        withdrawn: std::sync::atomic::AtomicBool,
        down: std::sync::atomic::AtomicBool,
        fetches: AtomicUsize,
    }

    #[async_trait]
    impl IssuerKeysSource for Source {
        async fn fetch(&self, _: &str) -> Result<IssuerKeys, String> {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst) {
                return Err("GET https://as.test/jwks: connection refused".into());
            }
            let mut key: serde_json::Value =
                serde_json::from_str(RSA_JWK).map_err(|e| e.to_string())?;
            key["kid"] = json!("k1");
            let keys = match self.withdrawn.load(Ordering::SeqCst) {
                true => vec![],
                false => vec![key],
            };
            IssuerKeys::from_jwks(&json!({ "keys": keys }))
        }
    }

    struct At(Timestamp);
    impl Clock for At {
        fn now(&self) -> Timestamp {
            self.0
        }
    }

    fn tokens(source: Arc<Source>) -> AccessTokens {
        tokens_refreshed(source, Duration::from_secs(300))
    }

    fn tokens_refreshed(source: Arc<Source>, every: Duration) -> AccessTokens {
        let rules = AccessRules {
            resource: "https://gw.test/v1/mcp".into(),
            issuers: vec![TrustedIssuer {
                issuer: ISS.into(),
                tenant: None,
            }],
            tenant_claim: None,
            default_tenant: String::new(),
            tool_scopes: true,
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
            leeway_secs: 0,
            max_calls: None,
        };
        let refresh = KeyRefresh {
            min_interval: Duration::ZERO,
            every,
        };
        let clock = Arc::new(At(Timestamp::from_unix_seconds(NOW)));
        AccessTokens::new(rules, source, clock, refresh)
    }

    fn jwt() -> String {
        let claims =
            json!({"iss": ISS, "sub": "a", "aud": "https://gw.test/v1/mcp", "exp": NOW + 60});
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("k1".into());
        let key = EncodingKey::from_rsa_der(RSA);
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    }

    #[tokio::test]
    async fn a_verified_token_is_remembered_until_the_keys_change_or_it_expires() {
        let source = Arc::new(Source::default());
        let access = tokens(Arc::clone(&source));
        let now = Timestamp::from_unix_seconds(NOW);
        let token = jwt();
        access.verify(&token, now).await.unwrap();
        assert_eq!(source.fetches.load(Ordering::SeqCst), 1);
        // Remembered: verified again without the keys (withdrawn, not yet refetched).
        source.withdrawn.store(true, Ordering::SeqCst);
        assert_eq!(access.verify(&token, now).await.unwrap().subject, "a");
        assert_eq!(source.fetches.load(Ordering::SeqCst), 1);
        // Past its expiry the remembered token is refused.
        let later = Timestamp::from_unix_seconds(NOW + 61);
        assert_eq!(
            access.verify(&token, later).await,
            Err(AccessTokenError::Expired)
        );
        // Once the keys are fetched again, nothing verified under the old ones counts.
        access.refresh_all().await;
        let refused = access.verify(&token, now).await.unwrap_err();
        assert!(
            matches!(refused, AccessTokenError::UnknownKey { .. }),
            "{refused}"
        );
    }

    #[tokio::test]
    async fn an_issuer_that_cannot_be_reached_refuses_its_tokens_and_says_why() {
        let source = Arc::new(Source::default());
        source.down.store(true, Ordering::SeqCst);
        let access = tokens(Arc::clone(&source));
        let now = Timestamp::from_unix_seconds(NOW);
        let refused = access.verify(&jwt(), now).await.unwrap_err();
        assert_eq!(
            refused.to_string(),
            "signing keys of https://as.test unavailable"
        );
        assert_eq!(access.status()[0].keys, 0);
        let why = access.status()[0].error.clone().unwrap();
        assert!(why.contains("connection refused"), "{why}");
        // Keys held before a failed refresh keep verifying.
        source.down.store(false, Ordering::SeqCst);
        access.verify(&jwt(), now).await.unwrap();
        source.down.store(true, Ordering::SeqCst);
        access.refresh_all().await;
        assert_eq!(access.status()[0].keys, 1);
        access.verify(&jwt(), now).await.unwrap();
    }

    #[tokio::test]
    async fn keys_the_issuer_stops_confirming_are_dropped_in_time() {
        let source = Arc::new(Source::default());
        let access = tokens_refreshed(Arc::clone(&source), Duration::from_millis(2));
        let now = Timestamp::from_unix_seconds(NOW);
        access.verify(&jwt(), now).await.unwrap();
        source.down.store(true, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        access.refresh_all().await;
        assert_eq!(access.status()[0].keys, 0);
        let refused = access.verify(&jwt(), now).await.unwrap_err();
        assert!(
            matches!(refused, AccessTokenError::KeysUnavailable { .. }),
            "{refused}"
        );
    }

    #[tokio::test]
    async fn an_untrusted_issuer_is_named_in_at_most_64_characters() {
        let access = tokens(Arc::new(Source::default()));
        let long = format!("https://{}", "x".repeat(300));
        let claims =
            json!({"iss": long, "sub": "a", "aud": "https://gw.test/v1/mcp", "exp": NOW + 60});
        let jwt = jsonwebtoken::encode(
            &Header::new(Algorithm::RS256),
            &claims,
            &EncodingKey::from_rsa_der(RSA),
        )
        .unwrap();
        let refused = access
            .verify(&jwt, Timestamp::from_unix_seconds(NOW))
            .await
            .unwrap_err();
        assert!(
            matches!(&refused, AccessTokenError::UntrustedIssuer(iss) if iss.len() == 64),
            "{refused}"
        );
    }
}

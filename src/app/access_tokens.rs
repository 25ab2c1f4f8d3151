//! OAuth access tokens: the trusted issuers' keys, kept current, and each token checked
//! against them. Fail closed: with no key of its issuer, a token is refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;

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
    loaded_at: Option<Timestamp>,
    error: Option<String>,
}

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
        }
    }

    pub fn rules(&self) -> &AccessRules {
        &self.rules
    }

    /// Verifies `jwt` at `now`. A token signed by a key the cached set lacks makes the
    /// issuer's keys be fetched again (at most once per `min_interval`), so a rotation
    /// is followed. Every refusal is counted by reason.
    pub async fn verify(&self, jwt: &str, now: Timestamp) -> Result<AccessToken, AccessTokenError> {
        let verified = self.verify_uncounted(jwt, now).await;
        if let Err(e) = &verified {
            metrics::oauth_token_failure(e.kind());
        }
        verified
    }

    async fn verify_uncounted(
        &self,
        jwt: &str,
        now: Timestamp,
    ) -> Result<AccessToken, AccessTokenError> {
        let issuer = oauth::peek_issuer(jwt)?;
        let Some(state) = self.issuers.get(&issuer) else {
            return Err(AccessTokenError::UntrustedIssuer(issuer));
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
            None => Err(AccessTokenError::KeysUnavailable {
                why: state
                    .record()
                    .error
                    .unwrap_or_else(|| "not fetched yet".into()),
                issuer,
            }),
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
                record.loaded_at = Some(self.clock.now());
                record.error = None;
                state.keys.store(Some(Arc::new(keys)));
            }
            Err(why) => {
                tracing::warn!(issuer, error = %why, "fetching the issuer's signing keys failed");
                record.error = Some(why);
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

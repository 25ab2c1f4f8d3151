//! The composition root: turns a validated [`Config`] into a running gateway.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use poem::listener::{Listener, TcpAcceptor, TcpListener};

use crate::adapters::clock::SystemClock;
use crate::adapters::extractor::{CachedExtractor, HttpExtractor};
use crate::adapters::oauth_discovery::HttpIssuerKeys;
use crate::adapters::open_stores;
use crate::adapters::rego::{DEFAULT_POLICY, RegoPolicies};
use crate::adapters::stdout::StdoutEcho;
use crate::adapters::tool_server::HttpToolServer;
use crate::adapters::webhook::WebhookSink;
use crate::app::admin::AdminAccess;
use crate::app::mcp::{McpSettings, Sessions};
use crate::app::{
    AccessTokens, ApprovalGate, AuditWriter, BudgetCounter, CheckpointSchedule, Durability,
    Gateway, KeyRefresh, PipelineSettings, PolicySync, PolicyWrites, Transparency,
};
use crate::config::{AuditDurability, AuditTarget, Config};
use crate::ports::{Change, Clock, EventSink, IntentExtractor, PolicyEngine, Stores, ToolServer};
use tokio::sync::Notify;

/// Async-durability audit queue bound (events waiting for the committer).
const AUDIT_QUEUE: usize = 8192;
/// Intent cache: entries and lifetime.
const INTENT_CACHE_ENTRIES: usize = 1024;
const INTENT_CACHE_TTL_SECS: i64 = 300;
/// How often a waiting approval re-reads its row (decisions made on other replicas).
const APPROVAL_POLL: Duration = Duration::from_millis(500);
/// How often promoted policies are re-read (changes made through other replicas).
const POLICY_SYNC: Duration = Duration::from_millis(500);
/// How often expired MCP sessions are removed from the store.
const SESSION_PURGE: Duration = Duration::from_secs(300);

mod keys;

pub use keys::existing_log_signer;

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] crate::adapters::OpenError),
    #[error("master key: {0}")]
    MasterKey(String),
    #[error("log key: {0}")]
    LogKey(String),
    #[error(transparent)]
    Randomness(#[from] crate::app::RandomnessUnavailable),
    #[error("policy: {0}")]
    Policy(String),
    #[error("HTTP client: {0}")]
    HttpClient(#[from] reqwest::Error),
    #[error("{0}")]
    Upstream(#[from] crate::adapters::tool_server::UpstreamClientError),
    #[error("listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
}

/// A gateway ready to serve. On shutdown call `gateway.audit.shutdown()`.
pub struct Started {
    pub gateway: Arc<Gateway>,
}

/// Opens the store and builds every service.
pub async fn build(config: &Config) -> Result<Started, StartError> {
    if config.metrics_enabled {
        if crate::adapters::metrics::install().is_none() {
            tracing::warn!("metrics recorder already installed by someone else; /metrics is empty");
        }
        crate::instruments::export_zeroes();
    }
    // Token, approval and session ids need randomness: without it, do not start.
    crate::app::random_bytes::<16>()?;
    let stores = open_stores(&config.store, config.audit_durability).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let key = match &config.master_key {
        Some(key) => key.clone(),
        None => keys::load_or_create_master_key(&config.data_dir)?,
    };
    let policy_poke = Arc::new(Notify::new());
    let policy_writes = PolicyWrites::default();
    let policy = policies(config, &stores, Arc::clone(&policy_poke), &policy_writes).await?;
    let durability = match config.audit_durability {
        AuditDurability::Sync => Durability::Sync,
        AuditDurability::Async => Durability::Async,
    };
    let sinks = sinks(config, &clock)?;
    let (audit, _committer) = AuditWriter::spawn(
        Arc::clone(&stores.audit),
        durability,
        AUDIT_QUEUE,
        sinks.clone(),
    );
    let approvals = config.approvals_enabled.then(|| {
        Arc::new(ApprovalGate::new(
            Arc::clone(&stores.approvals),
            Arc::clone(&clock),
            APPROVAL_POLL,
        ))
    });
    if let Some(feed) = &stores.changes {
        route_changes(feed.subscribe(), policy_poke, approvals.clone());
    }
    let sessions = Arc::new(Sessions::new(
        Arc::clone(&stores.sessions),
        Arc::clone(&clock),
        i64::try_from(config.mcp_session_ttl_secs).unwrap_or(i64::MAX),
    ));
    sessions.spawn_purge(SESSION_PURGE);
    let transparency = Arc::new(Transparency::new(
        Arc::clone(&stores.transparency),
        Arc::clone(&stores.audit),
        keys::log_signer(&config.checkpoints, &config.data_dir)?,
        Arc::clone(&clock),
        sinks,
    ));
    if config.checkpoints.entries > 0 {
        Arc::clone(&transparency).spawn(CheckpointSchedule {
            interval: config.checkpoints.interval,
            entries: config.checkpoints.entries,
        });
    }
    let access_tokens = access_tokens(config, &clock)?;
    let gateway = Gateway {
        sessions,
        mcp: McpSettings {
            allowed_origins: config.mcp_allowed_origins.clone(),
        },
        extractor: extractor(config, &clock)?,
        upstream: upstream(config)?,
        budgets: BudgetCounter::new(Arc::clone(&stores.budgets)),
        stores,
        clock,
        key,
        verified_tokens: Default::default(),
        policy,
        policy_writes,
        audit,
        approvals,
        settings: PipelineSettings {
            require_capability: config.require_capability,
            require_intent: config.require_intent,
            require_budget: config.require_budget,
            arg_values: config.arg_values,
            approval_window: Duration::from_secs(config.approval_timeout_secs),
        },
        admin: AdminAccess {
            superadmin: config.admin_token.clone(),
            tenants: config.tenant_admins.clone(),
        },
        metrics_enabled: config.metrics_enabled,
        transparency,
        access_tokens,
        policy_label: match &config.policy_file {
            Some(path) => format!("file:{}", path.display()),
            None => "embedded default".to_owned(),
        },
    };
    Ok(Started {
        gateway: Arc::new(gateway),
    })
}

/// The default policy (embedded or `INTENTGATE_POLICY_FILE`), then every promoted
/// draft from the store, kept in step with the store from then on.
async fn policies(
    config: &Config,
    stores: &Stores,
    poke: Arc<Notify>,
    writes: &PolicyWrites,
) -> Result<Arc<dyn PolicyEngine>, StartError> {
    let source = match &config.policy_file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| StartError::Policy(format!("read {}: {e}", path.display())))?,
        None => DEFAULT_POLICY.to_owned(),
    };
    let engine: Arc<dyn PolicyEngine> =
        Arc::new(RegoPolicies::new(&source).map_err(StartError::Policy)?);
    let mut sync = PolicySync::new(
        Arc::clone(&stores.policies),
        Arc::clone(&engine),
        Arc::clone(writes),
    );
    sync.sync_once(true).await.map_err(StartError::Policy)?;
    sync.spawn(POLICY_SYNC, poke);
    Ok(engine)
}

/// Turns other replicas' change notices into a policy sync or an approval wake-up.
fn route_changes(
    mut changes: tokio::sync::broadcast::Receiver<Change>,
    policy_poke: Arc<Notify>,
    approvals: Option<Arc<ApprovalGate>>,
) {
    tokio::spawn(async move {
        loop {
            match changes.recv().await {
                Ok(Change::PolicySlot { .. }) => policy_poke.notify_one(),
                Ok(Change::ApprovalDecided { pending_id }) => {
                    if let Some(gate) = &approvals {
                        gate.wake(&pending_id);
                    }
                }
                // Missed notices only delay changes: the pollers catch up.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    policy_poke.notify_one()
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// The outbound sinks every committed audit event goes to.
fn sinks(config: &Config, clock: &Arc<dyn Clock>) -> Result<Vec<Arc<dyn EventSink>>, StartError> {
    let mut sinks: Vec<Arc<dyn EventSink>> = Vec::new();
    if config.audit_target == AuditTarget::Stdout {
        sinks.push(Arc::new(StdoutEcho));
    }
    if let Some(settings) = &config.webhook {
        sinks.push(Arc::new(WebhookSink::spawn(
            settings.clone(),
            Arc::clone(clock),
        )?));
    }
    sinks.extend(crate::adapters::siem::spawn(
        &config.siem,
        Arc::clone(clock),
    )?);
    Ok(sinks)
}

fn extractor(
    config: &Config,
    clock: &Arc<dyn Clock>,
) -> Result<Option<Arc<dyn IntentExtractor>>, StartError> {
    let Some(url) = &config.extractor_url else {
        return Ok(None);
    };
    let http: Arc<dyn IntentExtractor> = Arc::new(HttpExtractor::new(url)?);
    let capacity = NonZeroUsize::new(INTENT_CACHE_ENTRIES).unwrap_or(NonZeroUsize::MIN);
    let cached = CachedExtractor::new(http, Arc::clone(clock), capacity, INTENT_CACHE_TTL_SECS);
    Ok(Some(Arc::new(cached)))
}

/// The OAuth resource server, when issuers are configured: keys fetched now and every
/// refresh period in the background (startup does not wait for an issuer).
fn access_tokens(
    config: &Config,
    clock: &Arc<dyn Clock>,
) -> Result<Option<Arc<AccessTokens>>, StartError> {
    let Some(settings) = &config.oauth else {
        return Ok(None);
    };
    if config.metrics_enabled {
        crate::instruments::oauth_started();
    }
    let tokens = Arc::new(AccessTokens::new(
        settings.rules.clone(),
        Arc::new(HttpIssuerKeys::new()?),
        Arc::clone(clock),
        KeyRefresh {
            min_interval: settings.keys_min_interval,
            every: settings.keys_refresh,
        },
    ));
    let refresher = Arc::downgrade(&tokens);
    tokio::spawn(async move {
        while let Some(tokens) = refresher.upgrade() {
            tokens.refresh_all().await;
            let every = tokens.refresh_every();
            drop(tokens);
            tokio::time::sleep(every).await;
        }
    });
    Ok(Some(tokens))
}

fn upstream(config: &Config) -> Result<Option<Arc<dyn ToolServer>>, StartError> {
    let Some(url) = &config.upstream_url else {
        return Ok(None);
    };
    let timeout = Duration::from_millis(config.upstream_timeout_ms);
    Ok(Some(Arc::new(HttpToolServer::new(url, timeout)?)))
}

/// The persisted master key of this data directory, created (0600) on first start.
/// The key is never printed.
/// Binds the listen address (`:8080` means every interface, as in Go).
pub async fn bind(addr: &str) -> Result<TcpAcceptor, StartError> {
    let full = if addr.starts_with(':') {
        format!("0.0.0.0{addr}")
    } else {
        addr.to_owned()
    };
    TcpListener::bind(full.clone())
        .into_acceptor()
        .await
        .map_err(|source| StartError::Listen { addr: full, source })
}

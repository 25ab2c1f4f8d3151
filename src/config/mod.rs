//! Configuration from `INTENTGATE_*` environment variables, validated once at startup.
//!
//! Names and meanings follow the reference gateway (an empty value counts as unset;
//! booleans are on only for the exact string `true`). Variables that our design makes
//! redundant are still accepted and explained in [`Config::notices`]. Every problem is
//! reported at once, each naming its variable.

pub mod checkpoints;
pub mod oauth;
mod posture;
mod secret;
pub mod siem;
mod webhook;

use std::fmt;
use std::path::PathBuf;

pub use crate::domain::credentials::{Secret, TenantAdmins, TenantAdminsError};
pub use checkpoints::CheckpointSettings;
pub use oauth::OAuthSettings;
pub use secret::DatabaseUrl;
pub use siem::SiemSettings;
pub use webhook::WebhookSettings;

use crate::domain::audit::ArgValuesMode;
use crate::domain::token::MasterKey;

/// Which storage backend holds audit chains, revocations, budgets, approvals and
/// policies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreConfig {
    /// Keeps about `retain_events` audit records (`INTENTGATE_MEMORY_AUDIT_RETAIN`).
    Memory {
        retain_events: usize,
    },
    /// Its page cache capped at `cache_mib` MiB (`INTENTGATE_SLED_CACHE_MB`).
    Sled {
        data_dir: PathBuf,
        cache_mib: u64,
    },
    Postgres {
        url: DatabaseUrl,
    },
}

/// sled's page cache by default, in MiB. It holds the hot heads, counters and recent
/// records; the process's resident size grows by more than this under load.
pub const DEFAULT_SLED_CACHE_MIB: u64 = 32;

/// How many audit records the memory store keeps by default (about 1 KiB each).
pub const DEFAULT_MEMORY_AUDIT_RETAIN: usize = 50_000;

impl StoreConfig {
    /// The memory store with its default bound.
    pub const MEMORY: Self = Self::Memory {
        retain_events: DEFAULT_MEMORY_AUDIT_RETAIN,
    };
}

/// Where audit events are echoed besides the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditTarget {
    Stdout,
    None,
}

/// Whether a call waits for its audit event to be committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditDurability {
    /// The response waits for the commit; a failed commit fails the call.
    Sync,
    /// Events are queued (bounded); overflow is dropped and counted.
    Async,
}

/// The typed configuration. `Debug` masks every secret.
#[derive(Clone, Debug)]
pub struct Config {
    pub addr: String,
    /// `None`: load or create the persisted key in the data directory.
    pub master_key: Option<MasterKey>,
    pub require_capability: bool,
    pub require_intent: bool,
    pub require_budget: bool,
    pub extractor_url: Option<String>,
    pub policy_file: Option<PathBuf>,
    pub audit_target: AuditTarget,
    pub audit_durability: AuditDurability,
    pub arg_values: ArgValuesMode,
    pub approvals_enabled: bool,
    pub approval_timeout_secs: u64,
    pub upstream_url: Option<String>,
    pub upstream_timeout_ms: u64,
    /// Idle lifetime of an MCP session (`INTENTGATE_MCP_SESSION_TTL_S`).
    pub mcp_session_ttl_secs: u64,
    /// Browser origins allowed on `/v1/mcp` besides loopback
    /// (`INTENTGATE_MCP_ALLOWED_ORIGINS`, comma-separated; `*` allows any).
    pub mcp_allowed_origins: Vec<String>,
    pub admin_token: Option<Secret>,
    pub tenant_admins: TenantAdmins,
    pub metrics_enabled: bool,
    /// Signed webhooks, when `INTENTGATE_WEBHOOK_URL` is set.
    pub webhook: Option<WebhookSettings>,
    /// SIEM forwarders (Splunk HEC, Datadog, Microsoft Sentinel), each when configured.
    pub siem: SiemSettings,
    /// Signed audit checkpoints: the log key and when they are issued.
    pub checkpoints: CheckpointSettings,
    /// OAuth sign-in; `None` unless `INTENTGATE_OAUTH_ISSUERS` is set.
    pub oauth: Option<OAuthSettings>,
    pub data_dir: PathBuf,
    pub store: StoreConfig,
    /// Startup messages about accepted-but-redundant reference settings.
    pub notices: Vec<String>,
}

/// Every configuration problem found, one per line.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError(pub Vec<String>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration:\n  {}", self.0.join("\n  "))
    }
}

impl std::error::Error for ConfigError {}

/// Default approval wait: 300 s (also what `0` means).
pub const DEFAULT_APPROVAL_TIMEOUT_SECS: u64 = 300;
/// Default upstream timeout.
pub const DEFAULT_UPSTREAM_TIMEOUT_MS: u64 = 30_000;
/// Default idle lifetime of an MCP session: one hour.
pub const DEFAULT_MCP_SESSION_TTL_SECS: u64 = 3600;

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `get`, so tests can pass a map.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Loader {
            get: &get,
            errors: Vec::new(),
            notices: Vec::new(),
        }
        .load()
    }
}

/// A non-negative integer variable: `default` when unset; when not a number, a
/// problem naming it is added to `errors` and `default` used.
fn non_negative(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: u64,
    errors: &mut Vec<String>,
) -> u64 {
    match get(name) {
        None => default,
        Some(text) => text.trim().parse::<u64>().unwrap_or_else(|_| {
            errors.push(format!("{name}={text:?} must be a non-negative integer"));
            default
        }),
    }
}

struct Loader<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
    errors: Vec<String>,
    notices: Vec<String>,
}

impl Loader<'_> {
    /// The variable's value, `None` when unset or empty.
    fn var(&self, name: &str) -> Option<String> {
        (self.get)(name).filter(|v| !v.is_empty())
    }

    fn flag(&self, name: &str) -> bool {
        self.var(name).as_deref() == Some("true")
    }

    fn fail(&mut self, message: String) {
        self.errors.push(message);
    }

    fn load(mut self) -> Result<Config, ConfigError> {
        let data_dir = PathBuf::from(self.var("INTENTGATE_DATA_DIR").unwrap_or("./data".into()));
        let store = self.store(&data_dir);
        let (checkpoints, problems) = CheckpointSettings::from_lookup(|n| self.var(n));
        self.errors.extend(problems);
        let config = Config {
            addr: self.var("INTENTGATE_ADDR").unwrap_or(":8080".into()),
            master_key: self.master_key(),
            require_capability: self.flag("INTENTGATE_REQUIRE_CAPABILITY"),
            require_intent: self.flag("INTENTGATE_REQUIRE_INTENT"),
            require_budget: self.flag("INTENTGATE_REQUIRE_BUDGET"),
            extractor_url: self.http_url("INTENTGATE_EXTRACTOR_URL"),
            policy_file: self.var("INTENTGATE_POLICY_FILE").map(PathBuf::from),
            audit_target: self.audit_target(),
            audit_durability: self.audit_durability(),
            arg_values: self.arg_values(),
            approvals_enabled: self.approvals_enabled(&store),
            approval_timeout_secs: self.approval_timeout(),
            upstream_url: self.http_url("INTENTGATE_UPSTREAM_URL"),
            upstream_timeout_ms: self.upstream_timeout(),
            mcp_session_ttl_secs: self.mcp_session_ttl(),
            mcp_allowed_origins: self
                .var("INTENTGATE_MCP_ALLOWED_ORIGINS")
                .map(|v| {
                    v.split(',')
                        .map(|o| o.trim().trim_end_matches('/').to_owned())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            admin_token: self.var("INTENTGATE_ADMIN_TOKEN").map(Secret::new),
            tenant_admins: self.tenant_admins(),
            metrics_enabled: self.flag("INTENTGATE_METRICS_ENABLED"),
            webhook: WebhookSettings::from_lookup(|n| self.var(n)),
            siem: self.siem(),
            checkpoints,
            oauth: self.oauth(),
            data_dir,
            store,
            notices: Vec::new(),
        };
        self.legacy_notices(&config.store);
        if !self.errors.is_empty() {
            return Err(ConfigError(self.errors));
        }
        Ok(Config {
            notices: self.notices,
            ..config
        })
    }

    fn oauth(&mut self) -> Option<OAuthSettings> {
        match OAuthSettings::from_lookup(|n| self.var(n)) {
            Ok(settings) => settings,
            Err(errors) => {
                self.errors.extend(errors);
                None
            }
        }
    }

    fn siem(&mut self) -> SiemSettings {
        match SiemSettings::from_lookup(|n| self.var(n)) {
            Ok(settings) => settings,
            Err(errors) => {
                self.errors.extend(errors);
                SiemSettings::default()
            }
        }
    }

    /// `INTENTGATE_STORE` wins; otherwise `INTENTGATE_POSTGRES_URL` alone selects
    /// Postgres (reference compatibility); otherwise sled.
    fn store(&mut self, data_dir: &std::path::Path) -> StoreConfig {
        let pg_url = self.var("INTENTGATE_POSTGRES_URL").map(DatabaseUrl::new);
        let sled = |this: &mut Self| StoreConfig::Sled {
            data_dir: data_dir.to_path_buf(),
            cache_mib: this.sled_cache_mib(),
        };
        match (self.var("INTENTGATE_STORE").as_deref(), pg_url) {
            (Some("memory"), _) => StoreConfig::Memory {
                retain_events: self.memory_audit_retain(),
            },
            (Some("sled"), _) => sled(self),
            (Some("postgres") | None, Some(url)) => StoreConfig::Postgres { url },
            (Some("postgres"), None) => {
                self.fail("INTENTGATE_STORE=postgres needs INTENTGATE_POSTGRES_URL".into());
                StoreConfig::MEMORY
            }
            (None, None) => sled(self),
            (Some(other), _) => {
                self.fail(format!(
                    "INTENTGATE_STORE={other:?} is not a backend; use memory, sled or postgres"
                ));
                StoreConfig::MEMORY
            }
        }
    }

    fn master_key(&mut self) -> Option<MasterKey> {
        let text = self.var("INTENTGATE_MASTER_KEY")?;
        MasterKey::parse(&text)
            .map_err(|e| self.fail(format!("INTENTGATE_MASTER_KEY: {e}")))
            .ok()
    }

    fn http_url(&mut self, name: &str) -> Option<String> {
        let url = self.var(name)?;
        let host = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
        match host {
            Some(h) if !h.is_empty() => Some(url),
            _ => {
                let shown = crate::domain::credentials::mask_url_password(&url);
                self.fail(format!(
                    "{name}={shown:?} must be an absolute http(s) URL with a host"
                ));
                None
            }
        }
    }

    fn audit_target(&mut self) -> AuditTarget {
        match self.var("INTENTGATE_AUDIT_TARGET").as_deref() {
            None | Some("stdout") => AuditTarget::Stdout,
            Some("none" | "off") => AuditTarget::None,
            Some(other) => {
                self.fail(format!(
                    "INTENTGATE_AUDIT_TARGET={other:?}: use stdout, none or off"
                ));
                AuditTarget::Stdout
            }
        }
    }

    fn audit_durability(&mut self) -> AuditDurability {
        match self.var("INTENTGATE_AUDIT_DURABILITY").as_deref() {
            None | Some("sync") => AuditDurability::Sync,
            Some("async") => AuditDurability::Async,
            Some(other) => {
                self.fail(format!(
                    "INTENTGATE_AUDIT_DURABILITY={other:?}: use sync or async"
                ));
                AuditDurability::Sync
            }
        }
    }

    fn arg_values(&mut self) -> ArgValuesMode {
        let text = self
            .var("INTENTGATE_AUDIT_PERSIST_ARG_VALUES")
            .unwrap_or_default();
        ArgValuesMode::parse(&text)
            .map_err(|e| self.fail(e.to_string()))
            .unwrap_or_default()
    }

    /// `INTENTGATE_APPROVALS_BACKEND`: `off` disables approvals; `memory` and
    /// `postgres` both mean "on": approvals live in the configured store.
    fn approvals_enabled(&mut self, store: &StoreConfig) -> bool {
        match self.var("INTENTGATE_APPROVALS_BACKEND").as_deref() {
            None | Some("memory") => true,
            Some("off") => false,
            Some("postgres") if matches!(store, StoreConfig::Postgres { .. }) => true,
            Some("postgres") => {
                self.fail(
                    "INTENTGATE_APPROVALS_BACKEND=postgres needs the Postgres store \
                     (set INTENTGATE_POSTGRES_URL)"
                        .into(),
                );
                true
            }
            Some(other) => {
                self.fail(format!(
                    "INTENTGATE_APPROVALS_BACKEND={other:?}: use off, memory or postgres"
                ));
                true
            }
        }
    }

    fn memory_audit_retain(&mut self) -> usize {
        let default = DEFAULT_MEMORY_AUDIT_RETAIN as u64;
        let retain = self.number_within(
            "INTENTGATE_MEMORY_AUDIT_RETAIN",
            1..=u64::MAX,
            default,
            "a positive number of events",
        );
        usize::try_from(retain).unwrap_or(usize::MAX)
    }

    fn sled_cache_mib(&mut self) -> u64 {
        self.number_within(
            "INTENTGATE_SLED_CACHE_MB",
            1..=1 << 20,
            DEFAULT_SLED_CACHE_MIB,
            "a number of MiB from 1 to 1048576",
        )
    }

    /// `var` as a whole number within `range`: `default` when unset; anything else is
    /// reported as `{var}={text:?} must be {what}` (and `default` stands in).
    fn number_within(
        &mut self,
        var: &str,
        range: std::ops::RangeInclusive<u64>,
        default: u64,
        what: &str,
    ) -> u64 {
        let Some(text) = self.var(var) else {
            return default;
        };
        match text.parse::<u64>() {
            Ok(n) if range.contains(&n) => n,
            _ => {
                self.fail(format!("{var}={text:?} must be {what}"));
                default
            }
        }
    }

    fn approval_timeout(&mut self) -> u64 {
        let Some(text) = self.var("INTENTGATE_APPROVAL_TIMEOUT_S") else {
            return DEFAULT_APPROVAL_TIMEOUT_SECS;
        };
        match text.parse::<u64>() {
            Ok(0) => DEFAULT_APPROVAL_TIMEOUT_SECS,
            Ok(secs) => secs,
            Err(_) => {
                self.fail(format!(
                    "INTENTGATE_APPROVAL_TIMEOUT_S={text:?} must be a non-negative integer"
                ));
                DEFAULT_APPROVAL_TIMEOUT_SECS
            }
        }
    }

    fn upstream_timeout(&mut self) -> u64 {
        self.number_within(
            "INTENTGATE_UPSTREAM_TIMEOUT_MS",
            1..=u64::MAX,
            DEFAULT_UPSTREAM_TIMEOUT_MS,
            "a positive integer",
        )
    }

    fn mcp_session_ttl(&mut self) -> u64 {
        self.number_within(
            "INTENTGATE_MCP_SESSION_TTL_S",
            1..=30 * 24 * 3600,
            DEFAULT_MCP_SESSION_TTL_SECS,
            "a whole number of seconds from 1 to 2592000 (30 days)",
        )
    }

    fn tenant_admins(&mut self) -> TenantAdmins {
        let text = self.var("INTENTGATE_TENANT_ADMINS").unwrap_or_default();
        TenantAdmins::parse(&text)
            .map_err(|e| self.fail(e.to_string()))
            .unwrap_or_default()
    }

    /// Reference switches that our design makes redundant: accepted, explained.
    fn legacy_notices(&mut self, store: &StoreConfig) {
        let backend = match store {
            StoreConfig::Memory { .. } => "memory",
            StoreConfig::Sled { .. } => "sled",
            StoreConfig::Postgres { .. } => "postgres",
        };
        if self.var("INTENTGATE_AUDIT_PERSIST").is_some() {
            self.notices.push(format!(
                "INTENTGATE_AUDIT_PERSIST is no longer needed: audit events are always \
                 persisted in the {backend} store"
            ));
        }
        if let Some(v) = self.var("INTENTGATE_POLICY_STORE") {
            self.notices.push(format!(
                "INTENTGATE_POLICY_STORE={v} is no longer needed: policy drafts always live \
                 in the {backend} store"
            ));
        }
        if self.var("INTENTGATE_REDIS_URL").is_some() {
            self.notices.push(format!(
                "INTENTGATE_REDIS_URL is ignored: budgets are counted in the {backend} store \
                 (use INTENTGATE_STORE=postgres to share them between replicas)"
            ));
        }
    }
}

#[cfg(test)]
mod tests;

//! SIEM forwarder settings, read from the reference's `INTENTGATE_SIEM_*` variables.
//!
//! Each destination is either fully configured or absent; a half-configured one is a
//! startup error naming the variables involved (never their values). Derived endpoints
//! are stored as fields so tests can point a destination at a fake receiver.

use std::time::Duration;

use super::Secret;
use crate::domain::urlencode::path_escape;

pub const SPLUNK_URL: &str = "INTENTGATE_SIEM_SPLUNK_URL";
pub const SPLUNK_TOKEN: &str = "INTENTGATE_SIEM_SPLUNK_TOKEN";
pub const SPLUNK_INDEX: &str = "INTENTGATE_SIEM_SPLUNK_INDEX";
pub const DATADOG_API_KEY: &str = "INTENTGATE_SIEM_DATADOG_API_KEY";
pub const DATADOG_SITE: &str = "INTENTGATE_SIEM_DATADOG_SITE";
pub const DATADOG_SERVICE: &str = "INTENTGATE_SIEM_DATADOG_SERVICE";
pub const SENTINEL_DCE_URL: &str = "INTENTGATE_SIEM_SENTINEL_DCE_URL";
pub const SENTINEL_DCR_ID: &str = "INTENTGATE_SIEM_SENTINEL_DCR_ID";
pub const SENTINEL_STREAM: &str = "INTENTGATE_SIEM_SENTINEL_STREAM";
pub const SENTINEL_TENANT_ID: &str = "INTENTGATE_SIEM_SENTINEL_TENANT_ID";
pub const SENTINEL_CLIENT_ID: &str = "INTENTGATE_SIEM_SENTINEL_CLIENT_ID";
pub const SENTINEL_CLIENT_SECRET: &str = "INTENTGATE_SIEM_SENTINEL_CLIENT_SECRET";

/// The six Sentinel variables, in the order error messages list them.
const SENTINEL_VARS: [&str; 6] = [
    SENTINEL_DCE_URL,
    SENTINEL_DCR_ID,
    SENTINEL_STREAM,
    SENTINEL_TENANT_ID,
    SENTINEL_CLIENT_ID,
    SENTINEL_CLIENT_SECRET,
];

pub const DEFAULT_DATADOG_SITE: &str = "datadoghq.com";
pub const DEFAULT_DATADOG_SERVICE: &str = "intentgate-gateway";
/// Azure AD host of the client-credentials token endpoint.
pub const AZURE_LOGIN_HOST: &str = "https://login.microsoftonline.com";

/// Splunk HTTP Event Collector.
#[derive(Clone, Debug)]
pub struct SplunkSettings {
    /// The HEC endpoint, POSTed to exactly as given.
    pub url: String,
    /// Sent as `Authorization: Splunk <token>`.
    pub token: Secret,
    /// Target index; `None` (or empty) leaves routing to the token's default index.
    pub index: Option<String>,
}

/// Datadog Logs intake.
#[derive(Clone, Debug)]
pub struct DatadogSettings {
    /// Sent as the `DD-API-KEY` header.
    pub api_key: Secret,
    pub site: String,
    /// The `service` field of every log entry.
    pub service: String,
    /// Where batches are POSTed; [`DatadogSettings::new`] derives it from `site`.
    pub intake_url: String,
}

impl DatadogSettings {
    /// Settings for `site`, with the intake URL `https://http-intake.logs.<site>/api/v2/logs`.
    pub fn new(api_key: Secret, site: impl Into<String>, service: impl Into<String>) -> Self {
        let site = site.into();
        Self {
            intake_url: format!("https://http-intake.logs.{site}/api/v2/logs"),
            api_key,
            site,
            service: service.into(),
        }
    }
}

/// Microsoft Sentinel through the Azure Monitor Logs Ingestion API.
#[derive(Clone, Debug)]
pub struct SentinelSettings {
    /// Data Collection Endpoint; also what the integrations endpoint shows.
    pub dce_url: String,
    /// Immutable id of the Data Collection Rule.
    pub dcr_id: String,
    /// Stream the rule exposes, e.g. `Custom-IntentGate_CL`.
    pub stream: String,
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// OAuth2 token endpoint; [`SentinelSettings::new`] derives it from the tenant.
    pub token_url: String,
    /// Ingestion URL; [`SentinelSettings::new`] derives it from DCE, DCR and stream.
    pub ingest_url: String,
}

impl SentinelSettings {
    /// Settings with the reference's derived URLs: the token endpoint
    /// `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token` and the ingestion URL
    /// `<DCE>/dataCollectionRules/<DCR>/streams/<stream>?api-version=2023-01-01` (trailing
    /// slashes of the DCE dropped; tenant, DCR and stream path-escaped, as Go does).
    pub fn new(
        dce_url: impl Into<String>,
        dcr_id: impl Into<String>,
        stream: impl Into<String>,
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Secret,
    ) -> Self {
        let (dce_url, dcr_id, stream) = (dce_url.into(), dcr_id.into(), stream.into());
        let tenant_id = tenant_id.into();
        Self {
            token_url: format!(
                "{AZURE_LOGIN_HOST}/{}/oauth2/v2.0/token",
                path_escape(&tenant_id)
            ),
            ingest_url: format!(
                "{}/dataCollectionRules/{}/streams/{}?api-version=2023-01-01",
                dce_url.trim_end_matches('/'),
                path_escape(&dcr_id),
                path_escape(&stream)
            ),
            dce_url,
            dcr_id,
            stream,
            tenant_id,
            client_id: client_id.into(),
            client_secret,
        }
    }
}

/// How each destination's worker batches (reference `internal/siem/batch.go`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchSettings {
    /// Events buffered between `offer` and the worker; more are dropped.
    pub capacity: usize,
    /// Pending events that trigger an immediate flush.
    pub max_batch: usize,
    /// A partial batch is flushed at least this often.
    pub interval: Duration,
    /// Longest a single flush (token fetch included) may take.
    pub flush_timeout: Duration,
}

impl Default for BatchSettings {
    fn default() -> Self {
        Self {
            capacity: 4096,
            max_batch: 100,
            interval: Duration::from_secs(5),
            flush_timeout: Duration::from_secs(10),
        }
    }
}

/// Which SIEM forwarders run, and how they batch.
#[derive(Clone, Debug, Default)]
pub struct SiemSettings {
    pub splunk: Option<SplunkSettings>,
    pub datadog: Option<DatadogSettings>,
    pub sentinel: Option<SentinelSettings>,
    pub batch: BatchSettings,
}

type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

impl SiemSettings {
    /// Reads the `INTENTGATE_SIEM_*` variables through `get` (an empty value counts as
    /// unset). Every problem is reported at once; messages name variables, never values.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, Vec<String>> {
        let var = |name: &str| get(name).filter(|v| !v.is_empty());
        let mut errors = Vec::new();
        let settings = Self {
            splunk: splunk(&var, &mut errors),
            datadog: datadog(&var),
            sentinel: sentinel(&var, &mut errors),
            batch: BatchSettings::default(),
        };
        if errors.is_empty() {
            Ok(settings)
        } else {
            Err(errors)
        }
    }

    /// Whether no forwarder is configured.
    pub fn is_empty(&self) -> bool {
        self.splunk.is_none() && self.datadog.is_none() && self.sentinel.is_none()
    }
}

/// URL and token come together or not at all; the index is optional.
fn splunk(var: Lookup<'_>, errors: &mut Vec<String>) -> Option<SplunkSettings> {
    match (var(SPLUNK_URL), var(SPLUNK_TOKEN)) {
        (Some(url), Some(token)) => Some(SplunkSettings {
            url,
            token: Secret::new(token),
            index: var(SPLUNK_INDEX),
        }),
        (None, None) => None,
        _ => {
            errors.push(format!(
                "{SPLUNK_URL} and {SPLUNK_TOKEN} must be set together (Splunk HEC)"
            ));
            None
        }
    }
}

/// The API key alone enables Datadog; site and service have defaults.
fn datadog(var: Lookup<'_>) -> Option<DatadogSettings> {
    let api_key = var(DATADOG_API_KEY)?;
    let site = var(DATADOG_SITE).unwrap_or_else(|| DEFAULT_DATADOG_SITE.to_owned());
    let service = var(DATADOG_SERVICE).unwrap_or_else(|| DEFAULT_DATADOG_SERVICE.to_owned());
    Some(DatadogSettings::new(Secret::new(api_key), site, service))
}

/// All six variables or none; the error lists the missing ones.
fn sentinel(var: Lookup<'_>, errors: &mut Vec<String>) -> Option<SentinelSettings> {
    let values = SENTINEL_VARS.map(var);
    let missing: Vec<&str> = SENTINEL_VARS
        .iter()
        .zip(&values)
        .filter(|(_, value)| value.is_none())
        .map(|(name, _)| *name)
        .collect();
    match values {
        [
            Some(dce),
            Some(dcr),
            Some(stream),
            Some(tenant),
            Some(client_id),
            Some(secret),
        ] => Some(SentinelSettings::new(
            dce,
            dcr,
            stream,
            tenant,
            client_id,
            Secret::new(secret),
        )),
        _ if missing.len() == SENTINEL_VARS.len() => None,
        _ => {
            errors.push(format!(
                "Sentinel needs all six INTENTGATE_SIEM_SENTINEL_* variables; missing: {}",
                missing.join(", ")
            ));
            None
        }
    }
}

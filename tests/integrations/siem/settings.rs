//! Settings read from the `INTENTGATE_SIEM_*` variables.

use super::*;

const SPLUNK_ERROR: &str =
    "INTENTGATE_SIEM_SPLUNK_URL and INTENTGATE_SIEM_SPLUNK_TOKEN must be set together (Splunk HEC)";

fn lookup(vars: &[(&str, &str)]) -> Result<SiemSettings, Vec<String>> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    SiemSettings::from_lookup(|name| vars.get(name).cloned())
}

fn full_environment() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "INTENTGATE_SIEM_SPLUNK_URL",
            "https://splunk.example:8088/services/collector",
        ),
        ("INTENTGATE_SIEM_SPLUNK_TOKEN", "hec-secret-1"),
        ("INTENTGATE_SIEM_SPLUNK_INDEX", "security"),
        ("INTENTGATE_SIEM_DATADOG_API_KEY", "dd-secret-1"),
        (
            "INTENTGATE_SIEM_SENTINEL_DCE_URL",
            "https://ig-dce.eastus-1.ingest.monitor.azure.com/",
        ),
        ("INTENTGATE_SIEM_SENTINEL_DCR_ID", "dcr-1"),
        ("INTENTGATE_SIEM_SENTINEL_STREAM", "Custom-IntentGate_CL"),
        ("INTENTGATE_SIEM_SENTINEL_TENANT_ID", "tenant-1"),
        ("INTENTGATE_SIEM_SENTINEL_CLIENT_ID", "client-1"),
        ("INTENTGATE_SIEM_SENTINEL_CLIENT_SECRET", "azure-secret-1"),
    ]
}

#[test]
fn nothing_set_means_no_forwarders_and_default_batching() {
    let settings = lookup(&[]).unwrap();
    assert!(settings.is_empty());
    assert_eq!(
        settings.batch,
        BatchSettings {
            capacity: 4096,
            max_batch: 100,
            interval: Duration::from_secs(5),
            flush_timeout: Duration::from_secs(10),
        }
    );
    let blank: Vec<(&str, &str)> = full_environment().iter().map(|(k, _)| (*k, "")).collect();
    assert!(
        lookup(&blank).unwrap().is_empty(),
        "empty values count as unset"
    );
}

#[test]
fn the_full_environment_configures_all_three() {
    let settings = lookup(&full_environment()).unwrap();

    let splunk = settings.splunk.as_ref().unwrap();
    assert_eq!(splunk.url, "https://splunk.example:8088/services/collector");
    assert_eq!(splunk.token.expose(), "hec-secret-1");
    assert_eq!(splunk.index.as_deref(), Some("security"));
    let datadog = settings.datadog.as_ref().unwrap();
    assert_eq!(
        (datadog.site.as_str(), datadog.service.as_str()),
        ("datadoghq.com", "intentgate-gateway")
    );
    assert_eq!(
        datadog.intake_url,
        "https://http-intake.logs.datadoghq.com/api/v2/logs"
    );
    let sentinel = settings.sentinel.as_ref().unwrap();
    assert_eq!(
        sentinel.token_url,
        "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token"
    );
    assert_eq!(
        sentinel.ingest_url,
        "https://ig-dce.eastus-1.ingest.monitor.azure.com/dataCollectionRules/dcr-1/streams/Custom-IntentGate_CL?api-version=2023-01-01"
    );
    assert_eq!(sentinel.client_secret.expose(), "azure-secret-1");
    let shown = format!("{settings:?}");
    for secret in ["hec-secret-1", "dd-secret-1", "azure-secret-1"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

#[test]
fn datadog_site_and_service_can_be_chosen() {
    let settings = lookup(&[
        ("INTENTGATE_SIEM_DATADOG_API_KEY", "dd-secret-1"),
        ("INTENTGATE_SIEM_DATADOG_SITE", "datadoghq.eu"),
        ("INTENTGATE_SIEM_DATADOG_SERVICE", "gw-eu"),
    ])
    .unwrap();
    let datadog = settings.datadog.unwrap();
    assert_eq!(
        datadog.intake_url,
        "https://http-intake.logs.datadoghq.eu/api/v2/logs"
    );
    assert_eq!(datadog.service, "gw-eu");
    let without_key = lookup(&[("INTENTGATE_SIEM_DATADOG_SITE", "datadoghq.eu")]).unwrap();
    assert!(without_key.datadog.is_none());
}

#[test]
fn half_configured_splunk_is_an_error_that_names_both_variables() {
    let token_only = lookup(&[("INTENTGATE_SIEM_SPLUNK_TOKEN", "hec-secret-1")]).unwrap_err();
    assert_eq!(token_only, vec![SPLUNK_ERROR.to_owned()]);
    let url_only = lookup(&[
        (
            "INTENTGATE_SIEM_SPLUNK_URL",
            "https://splunk.example/services/collector",
        ),
        ("INTENTGATE_SIEM_SPLUNK_TOKEN", ""),
    ])
    .unwrap_err();
    assert_eq!(url_only, vec![SPLUNK_ERROR.to_owned()]);
}

#[test]
fn half_configured_sentinel_lists_what_is_missing_and_no_secret() {
    let errors = lookup(&[
        ("INTENTGATE_SIEM_SPLUNK_TOKEN", "hec-secret-1"),
        ("INTENTGATE_SIEM_SENTINEL_DCE_URL", "https://dce.example"),
        ("INTENTGATE_SIEM_SENTINEL_TENANT_ID", "tenant-1"),
        ("INTENTGATE_SIEM_SENTINEL_CLIENT_SECRET", "azure-secret-1"),
    ])
    .unwrap_err();

    assert_eq!(
        errors,
        vec![
            SPLUNK_ERROR.to_owned(),
            "Sentinel needs all six INTENTGATE_SIEM_SENTINEL_* variables; missing: \
             INTENTGATE_SIEM_SENTINEL_DCR_ID, INTENTGATE_SIEM_SENTINEL_STREAM, \
             INTENTGATE_SIEM_SENTINEL_CLIENT_ID"
                .to_owned(),
        ]
    );
    let all = errors.join("\n");
    assert!(!all.contains("hec-secret-1") && !all.contains("azure-secret-1"));
}

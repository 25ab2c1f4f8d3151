use std::collections::HashMap;

use super::*;

pub(super) fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::from_lookup(|name| map.get(name).cloned())
}

#[test]
fn defaults_match_the_reference() {
    let c = load(&[]).unwrap();
    assert_eq!(c.addr, ":8080");
    assert!(c.master_key.is_none());
    assert!(!c.require_capability && !c.require_intent && !c.require_budget);
    assert_eq!(c.audit_target, AuditTarget::Stdout);
    assert_eq!(c.audit_durability, AuditDurability::Sync);
    assert_eq!(c.approval_timeout_secs, 300);
    assert_eq!(c.upstream_timeout_ms, 30_000);
    assert!(c.approvals_enabled);
    assert_eq!(
        c.store,
        StoreConfig::Sled {
            data_dir: PathBuf::from("./data"),
            cache_mib: 32,
        }
    );
}

#[test]
fn flags_need_the_exact_string_true_and_empty_means_unset() {
    let c = load(&[
        ("INTENTGATE_REQUIRE_CAPABILITY", "true"),
        ("INTENTGATE_REQUIRE_INTENT", "TRUE"),
        ("INTENTGATE_REQUIRE_BUDGET", "1"),
        ("INTENTGATE_ADDR", ""),
    ])
    .unwrap();
    assert!(c.require_capability);
    assert!(!c.require_intent && !c.require_budget);
    assert_eq!(c.addr, ":8080");
}

#[test]
fn backend_selection() {
    let url = "postgres://app:pw@db/ig";
    let pg = load(&[("INTENTGATE_POSTGRES_URL", url)]).unwrap();
    assert_eq!(
        pg.store,
        StoreConfig::Postgres {
            url: DatabaseUrl::new(url)
        }
    );
    let mem = load(&[
        ("INTENTGATE_STORE", "memory"),
        ("INTENTGATE_POSTGRES_URL", url),
    ])
    .unwrap();
    assert_eq!(mem.store, StoreConfig::MEMORY);
    let sled = load(&[
        ("INTENTGATE_STORE", "sled"),
        ("INTENTGATE_DATA_DIR", "/var/ig"),
    ])
    .unwrap();
    assert_eq!(
        sled.store,
        StoreConfig::Sled {
            data_dir: PathBuf::from("/var/ig"),
            cache_mib: 32,
        }
    );
    let err = load(&[("INTENTGATE_STORE", "postgres")]).unwrap_err();
    assert_eq!(
        err.0,
        ["INTENTGATE_STORE=postgres needs INTENTGATE_POSTGRES_URL"]
    );
}

#[test]
fn every_error_is_reported_and_names_its_variable() {
    let err = load(&[
        ("INTENTGATE_STORE", "mysql"),
        ("INTENTGATE_MASTER_KEY", "short"),
        ("INTENTGATE_AUDIT_TARGET", "file"),
        ("INTENTGATE_APPROVAL_TIMEOUT_S", "1.5"),
        ("INTENTGATE_UPSTREAM_TIMEOUT_MS", "0"),
        ("INTENTGATE_UPSTREAM_URL", "ftp://x"),
        ("INTENTGATE_APPROVALS_BACKEND", "redis"),
        ("INTENTGATE_TENANT_ADMINS", "acme"),
        ("INTENTGATE_AUDIT_PERSIST_ARG_VALUES", "everything"),
        ("INTENTGATE_AUDIT_DURABILITY", "eventually"),
    ])
    .unwrap_err();
    let vars = [
        "INTENTGATE_STORE",
        "INTENTGATE_MASTER_KEY",
        "INTENTGATE_AUDIT_TARGET",
        "INTENTGATE_APPROVAL_TIMEOUT_S",
        "INTENTGATE_UPSTREAM_TIMEOUT_MS",
        "INTENTGATE_UPSTREAM_URL",
        "INTENTGATE_APPROVALS_BACKEND",
        "INTENTGATE_TENANT_ADMINS",
        "INTENTGATE_AUDIT_PERSIST_ARG_VALUES",
        "INTENTGATE_AUDIT_DURABILITY",
    ];
    assert_eq!(err.0.len(), vars.len(), "{err}");
    for var in vars {
        assert!(
            err.0.iter().any(|line| line.starts_with(var)),
            "{var} missing from {err}"
        );
    }
}

#[test]
fn zero_approval_timeout_means_default_and_approvals_can_be_off() {
    let c = load(&[
        ("INTENTGATE_APPROVAL_TIMEOUT_S", "0"),
        ("INTENTGATE_APPROVALS_BACKEND", "off"),
    ])
    .unwrap();
    assert_eq!(c.approval_timeout_secs, 300);
    assert!(!c.approvals_enabled);
    let pg_only = load(&[
        ("INTENTGATE_APPROVALS_BACKEND", "postgres"),
        ("INTENTGATE_STORE", "sled"),
    ]);
    assert!(pg_only.unwrap_err().0[0].contains("INTENTGATE_POSTGRES_URL"));
}

#[test]
fn reference_only_variables_are_accepted_with_a_notice() {
    let c = load(&[
        ("INTENTGATE_STORE", "memory"),
        ("INTENTGATE_AUDIT_PERSIST", "true"),
        ("INTENTGATE_POLICY_STORE", "memory"),
        ("INTENTGATE_REDIS_URL", "redis://127.0.0.1:6379"),
    ])
    .unwrap();
    assert_eq!(c.notices.len(), 3);
    assert!(c.notices.iter().all(|n| n.contains("memory store")));
}

#[test]
fn debug_masks_every_secret() {
    let c = load(&[
        (
            "INTENTGATE_MASTER_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
        ),
        ("INTENTGATE_ADMIN_TOKEN", "super-secret-admin"),
        ("INTENTGATE_TENANT_ADMINS", "acme:tenant-secret"),
        (
            "INTENTGATE_POSTGRES_URL",
            "postgres://app:db-password@db/ig",
        ),
    ])
    .unwrap();
    let shown = format!("{c:?}");
    for secret in [
        "AAECAwQF",
        "super-secret-admin",
        "tenant-secret",
        "db-password",
    ] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
    assert!(shown.contains("postgres://app:***@db/ig"));
}

#[test]
fn the_memory_store_bound_is_configurable_and_checked() {
    let bounded = load(&[
        ("INTENTGATE_STORE", "memory"),
        ("INTENTGATE_MEMORY_AUDIT_RETAIN", "1000"),
    ])
    .unwrap();
    assert_eq!(
        bounded.store,
        StoreConfig::Memory {
            retain_events: 1000
        }
    );
    for bad in ["0", "-1", "lots"] {
        let err = load(&[
            ("INTENTGATE_STORE", "memory"),
            ("INTENTGATE_MEMORY_AUDIT_RETAIN", bad),
        ])
        .unwrap_err();
        assert_eq!(
            err.0,
            vec![format!(
                "INTENTGATE_MEMORY_AUDIT_RETAIN={bad:?} must be a positive number of events"
            )]
        );
    }
}

#[test]
fn the_sled_cache_is_configurable_and_checked() {
    let larger = load(&[("INTENTGATE_SLED_CACHE_MB", "256")]).unwrap();
    assert_eq!(
        larger.store,
        StoreConfig::Sled {
            data_dir: PathBuf::from("./data"),
            cache_mib: 256,
        }
    );
    for bad in ["0", "-1", "lots", "1048577"] {
        let err = load(&[("INTENTGATE_SLED_CACHE_MB", bad)]).unwrap_err();
        assert_eq!(
            err.0,
            vec![format!(
                "INTENTGATE_SLED_CACHE_MB={bad:?} must be a number of MiB from 1 to 1048576"
            )]
        );
        let memory = load(&[
            ("INTENTGATE_STORE", "memory"),
            ("INTENTGATE_SLED_CACHE_MB", bad),
        ]);
        assert!(memory.is_ok(), "only the sled store reads its cache size");
    }
}

#[test]
fn the_mcp_session_ttl_is_bounded_to_thirty_days() {
    assert_eq!(load(&[]).unwrap().mcp_session_ttl_secs, 3600);
    let month = load(&[("INTENTGATE_MCP_SESSION_TTL_S", "2592000")]).unwrap();
    assert_eq!(month.mcp_session_ttl_secs, 2_592_000);
    for bad in ["0", "2592001", "1h", "-5"] {
        let err = load(&[("INTENTGATE_MCP_SESSION_TTL_S", bad)]).unwrap_err();
        assert_eq!(
            err.0,
            vec![format!(
                "INTENTGATE_MCP_SESSION_TTL_S={bad:?} must be a whole number of seconds \
                 from 1 to 2592000 (30 days)"
            )]
        );
    }
}

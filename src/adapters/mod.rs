//! Adapters: one module per technology. [`open_stores`] is the one place that turns a
//! configured backend into port implementations.

pub mod clock;
pub mod extractor;
pub mod http;
pub mod memory;
pub mod metrics;
pub mod oauth_discovery;
pub mod outbound;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod rego;
pub mod siem;
#[cfg(feature = "sled")]
pub mod sled;
pub mod stdout;
pub mod telemetry;
pub mod tool_server;
pub mod webhook;

use crate::config::{AuditDurability, StoreConfig};
use crate::ports::Stores;

/// The configured backend cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[cfg(feature = "sled")]
    #[error(transparent)]
    Sled(#[from] sled::SledOpenError),
    #[cfg(feature = "postgres")]
    #[error(transparent)]
    Postgres(#[from] postgres::PgOpenError),
    /// The configuration names a store this build was compiled without.
    #[error(
        "this build has no {store} store (built without the `{store}` feature); \
         choose another with INTENTGATE_STORE or rebuild with `--features {store}`"
    )]
    NotBuiltIn { store: &'static str },
}

/// Opens the storage backend chosen by configuration. With `sync` audit durability
/// every counted call's audit record is committed durably after its budget count, so
/// Postgres need not wait for the count's own flush (see `BudgetStore::record_calls`).
pub async fn open_stores(
    config: &StoreConfig,
    audit: AuditDurability,
) -> Result<Stores, OpenError> {
    match config {
        StoreConfig::Memory { retain_events } => Ok(memory::open_retaining(*retain_events)),
        #[cfg(feature = "sled")]
        StoreConfig::Sled {
            data_dir,
            cache_mib,
        } => Ok(sled::open_with_cache(&data_dir.join("sled"), *cache_mib)?),
        #[cfg(feature = "postgres")]
        StoreConfig::Postgres { url } => {
            let commits = match audit {
                AuditDurability::Sync => postgres::CountCommits::FlushedByAudit,
                AuditDurability::Async => postgres::CountCommits::Wait,
            };
            Ok(postgres::open_counting(url, commits).await?)
        }
        #[cfg(not(feature = "sled"))]
        StoreConfig::Sled { .. } => Err(OpenError::NotBuiltIn { store: "sled" }),
        #[cfg(not(feature = "postgres"))]
        StoreConfig::Postgres { .. } => Err(OpenError::NotBuiltIn { store: "postgres" }),
    }
}

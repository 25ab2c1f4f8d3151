//! Adapters: one module per technology. [`open_stores`] is the one place that turns a
//! configured backend into port implementations.

pub mod clock;
pub mod http;
pub mod http_client;
pub mod memory;
pub mod metrics;
pub mod postgres;
pub mod rego;
pub mod siem;
pub mod sled;
pub mod stdout;
pub mod telemetry;
pub mod webhook;

use crate::config::StoreConfig;
use crate::ports::Stores;

/// The configured backend cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Sled(#[from] sled::SledOpenError),
    #[error(transparent)]
    Postgres(#[from] postgres::PgOpenError),
}

/// Opens the storage backend chosen by configuration.
pub async fn open_stores(config: &StoreConfig) -> Result<Stores, OpenError> {
    match config {
        StoreConfig::Memory { retain_events } => Ok(memory::open_retaining(*retain_events)),
        StoreConfig::Sled { data_dir } => Ok(sled::open(&data_dir.join("sled"))?),
        StoreConfig::Postgres { url } => Ok(postgres::open(url).await?),
    }
}

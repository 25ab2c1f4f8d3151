//! The inbound HTTP adapter (poem + poem-openapi): the server and its middleware
//! (`server`), the one OpenAPI service (`openapi`), the data plane (`data_plane`), the
//! admin API (`admin`) and the probes, beside the wire formats they share.

pub mod admin;
mod data_plane;
mod documented;
mod encoded;
mod oauth_metadata;
pub mod openapi;
pub mod probes;
mod server;
mod tags;
mod wire;

use std::time::Duration;

pub use server::{routes, serve};

/// Largest request body on the data plane.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// How long shutdown waits for in-flight requests.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(15);

/// Build version reported by `/healthz`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where the OpenAPI document and Swagger UI are served.
pub const OPENAPI_PATH: &str = "/openapi.json";
pub const DOCS_PATH: &str = "/docs";

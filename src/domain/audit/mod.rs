//! Audit events, their canonical form, the per-tenant hash chain and its verification.

pub mod bundle;
mod chain;
pub mod checkpoint;
mod event;
pub mod export;
pub mod merkle;
mod query;
mod redact;
pub mod tiles;
mod tree_check;

pub use chain::{
    BreakReason, ChainBreak, ChainHead, ChainVerifier, ChainedEvent, InvalidRun, VerifyReport,
    chain_hash, chain_key, check_run, extends, seal,
};
pub use event::{AuditEvent, EVENT_NAME, FORWARDING_REASON, SCHEMA_VERSION};
pub use query::{AuditQuery, DEFAULT_LIMIT, MAX_LIMIT, QueryCursor, newest_first};
pub use redact::{ArgValuesMode, ArgValuesModeError, arg_keys, redact_args};
pub use tree_check::{CheckpointCheck, RootMismatch, TreeCheck};

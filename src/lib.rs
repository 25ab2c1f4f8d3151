//! IntentGate: an authorization gateway for AI agents' MCP tool calls.
//!
//! Layers (see ARCHITECTURE.md): [`domain`] is pure and depends on nothing else here;
//! [`ports`] are the traits the application needs from the outside world; [`adapters`]
//! implement them per technology; [`config`] reads the environment; [`instruments`]
//! names and records metrics for the application and the adapters alike.

pub mod adapters;
pub mod app;
pub mod bootstrap;
pub mod config;
pub mod domain;
pub mod instruments;
pub mod ports;

//! The pure core: no I/O, no clock, no async. Everything here takes time and randomness
//! as parameters, so it is deterministic and tested with the reference's vectors.

pub mod approval;
pub mod audit;
pub mod budget;
pub mod credential;
pub mod credentials;
pub mod decision;
pub mod discovery;
pub mod gojson;
pub mod intent;
pub mod jsonrpc;
pub mod mcp;
pub mod oauth;
pub mod policy;
pub mod revocation;
pub mod tenant;
pub mod time;
pub mod token;
pub mod urlencode;
pub mod webhook;

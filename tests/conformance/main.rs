//! The storage conformance suite: every scenario in `suite/` runs against every
//! backend module below, so a failure names the backend and the broken contract
//! (e.g. `memory::budget::never_overspends_under_64_concurrent_consumers`).
//! Adding a backend means adding one module with a `fixture()` and a macro call.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly

#[macro_use]
mod suite;

mod memory;
#[path = "../common/pg.rs"]
mod pg;
mod postgres;
mod sled;

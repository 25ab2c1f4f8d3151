//! Black-box tests of the data plane against a real gateway on a loopback port:
//! the acceptance scenarios of `reference-data-plane.md` §14, numbered as there.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly

mod audit;
mod budget;
mod capability;
mod envelope;
mod escalation;
mod intent;
mod policy;
mod support;
mod upstream;

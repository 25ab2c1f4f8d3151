//! The reference's published vectors and cross-implementation checks. Every expected
//! value here comes from the reference specification, not from our code.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly

mod audit;
mod igctl;
mod igctl_verify;
mod robustness;
mod sdk;
mod token;

//! Outbound integrations against fake receivers on loopback ports: the SIEM forwarders
//! (Splunk HEC, Datadog Logs, Microsoft Sentinel), their batching and their settings.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly

#[path = "../common/fake.rs"]
mod fake;
mod siem;

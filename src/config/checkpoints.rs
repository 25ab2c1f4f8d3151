//! Signed audit checkpoints: the log's name and key, and how often they are issued.

use std::time::Duration;

use super::{Secret, non_negative};

/// Default name of the log's signing key, the first part of every checkpoint origin.
pub const DEFAULT_LOG_NAME: &str = "intentgate";
/// Default age after which a chain with new records gets a checkpoint.
pub const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(60);
/// Default number of new records after which a chain gets a checkpoint.
pub const DEFAULT_CHECKPOINT_ENTRIES: u64 = 1000;

#[derive(Clone, Debug)]
pub struct CheckpointSettings {
    /// `INTENTGATE_LOG_NAME`: the signed-note key name (no spaces or `+`).
    pub log_name: String,
    /// `INTENTGATE_LOG_KEY`: the Ed25519 seed (32 bytes, base64); unset: `log.key` in
    /// the data directory, created on first start.
    pub log_key: Option<Secret>,
    /// `INTENTGATE_CHECKPOINT_INTERVAL_S`; `0` turns the age rule off.
    pub interval: Option<Duration>,
    /// `INTENTGATE_CHECKPOINT_ENTRIES`; `0` turns background checkpoints off entirely
    /// (they are still issued on demand).
    pub entries: u64,
}

impl CheckpointSettings {
    /// Reads the variables; each problem is one message in the returned list.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> (Self, Vec<String>) {
        let mut errors = Vec::new();
        let mut number = |name: &str, default: u64| non_negative(&get, name, default, &mut errors);
        let interval_secs = number(
            "INTENTGATE_CHECKPOINT_INTERVAL_S",
            DEFAULT_CHECKPOINT_INTERVAL.as_secs(),
        );
        let entries = number("INTENTGATE_CHECKPOINT_ENTRIES", DEFAULT_CHECKPOINT_ENTRIES);
        let log_name = get("INTENTGATE_LOG_NAME").unwrap_or_else(|| DEFAULT_LOG_NAME.to_owned());
        if log_name.is_empty() || log_name.contains(|c: char| c.is_whitespace() || c == '+') {
            errors.push(format!(
                "INTENTGATE_LOG_NAME={log_name:?} must be non-empty, without spaces or '+'"
            ));
        }
        let settings = Self {
            log_name,
            log_key: get("INTENTGATE_LOG_KEY").map(Secret::new),
            interval: (interval_secs > 0).then(|| Duration::from_secs(interval_secs)),
            entries,
        };
        (settings, errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> (CheckpointSettings, Vec<String>) {
        CheckpointSettings::from_lookup(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn defaults_issue_every_minute_or_thousand_records() {
        let (s, errors) = read(&[]);
        assert!(errors.is_empty());
        assert_eq!(s.log_name, "intentgate");
        assert_eq!(s.interval, Some(Duration::from_secs(60)));
        assert_eq!(s.entries, 1000);
        assert!(s.log_key.is_none());
    }

    #[test]
    fn zero_interval_turns_the_age_rule_off_and_bad_values_are_named() {
        let (s, errors) = read(&[
            ("INTENTGATE_CHECKPOINT_INTERVAL_S", "0"),
            ("INTENTGATE_CHECKPOINT_ENTRIES", "many"),
            ("INTENTGATE_LOG_NAME", "my log"),
        ]);
        assert_eq!(s.interval, None);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("INTENTGATE_CHECKPOINT_ENTRIES"));
        assert!(errors[1].contains("INTENTGATE_LOG_NAME"));
    }

    #[test]
    fn the_key_never_shows_in_debug() {
        let (s, _) = read(&[("INTENTGATE_LOG_KEY", "c2VjcmV0LXNlZWQ")]);
        assert!(!format!("{s:?}").contains("c2VjcmV0LXNlZWQ"));
    }
}

//! Instants as the domain sees them: UTC nanoseconds since the Unix epoch.
//!
//! The domain never reads the clock; callers pass a [`Timestamp`] in. Formatting follows
//! Go's `time.RFC3339Nano` (fraction trimmed of trailing zeros, none when zero, `Z`),
//! which is what the reference writes into audit events and hashes.

use std::fmt;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const NANOS_PER_SEC: i64 = 1_000_000_000;
const NANOS_PER_MICRO: i64 = 1_000;

/// A UTC instant with nanosecond precision (years 1678..2262).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// A timestamp string that is not RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid RFC 3339 timestamp {0:?}")]
pub struct TimestampParseError(pub String);

impl Timestamp {
    pub const fn from_unix_nanos(nanos: i64) -> Self {
        Self(nanos)
    }

    pub const fn from_unix_seconds(secs: i64) -> Self {
        Self(secs.saturating_mul(NANOS_PER_SEC))
    }

    pub const fn unix_nanos(self) -> i64 {
        self.0
    }

    /// Whole seconds, rounded towards negative infinity like Go's `Time.Unix`.
    pub const fn unix_seconds(self) -> i64 {
        self.0.div_euclid(NANOS_PER_SEC)
    }

    /// Drops sub-microsecond digits: what the audit chain stores and hashes, so that
    /// every backend (and Postgres' microsecond `timestamptz`) round-trips the value.
    pub const fn truncate_to_micros(self) -> Self {
        Self(self.0 - self.0.rem_euclid(NANOS_PER_MICRO))
    }

    pub const fn plus_nanos(self, nanos: i64) -> Self {
        Self(self.0.saturating_add(nanos))
    }

    pub fn plus_seconds(self, secs: i64) -> Self {
        self.plus_nanos(secs.saturating_mul(NANOS_PER_SEC))
    }

    /// Parses RFC 3339 with any offset and fraction, normalised to UTC.
    pub fn parse_rfc3339(s: &str) -> Result<Self, TimestampParseError> {
        let parsed =
            OffsetDateTime::parse(s, &Rfc3339).map_err(|_| TimestampParseError(s.to_owned()))?;
        // Beyond ±292 years of 1970 nanoseconds overflow; such bounds (Go accepts
        // years 0001 to 9999) clamp to the representable extremes.
        let nanos = parsed.unix_timestamp_nanos();
        let clamped = nanos.clamp(i128::from(i64::MIN), i128::from(i64::MAX));
        Ok(Self(i64::try_from(clamped).unwrap_or(0)))
    }

    /// Go `time.RFC3339Nano` in UTC, e.g. `2026-05-12T10:00:01.5Z`.
    pub fn to_rfc3339_nano(self) -> String {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0))
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
    }
}

impl Timestamp {
    /// `YYYYMMDDTHHMMSSZ` in UTC, for file names.
    pub fn to_compact_utc(self) -> String {
        let text = self.to_rfc3339_nano();
        let digits: String = text
            .chars()
            .take(19)
            .filter(|c| c.is_ascii_digit() || *c == 'T')
            .collect();
        format!("{digits}Z")
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339_nano())
    }
}

/// Formats a duration the way Go's `time.Duration.String` does for whole milliseconds
/// and whole seconds (`300ms`, `45s`, `5m0s`, `1h0m0s`), used in the approval-timeout
/// reason text.
pub fn go_duration(d: std::time::Duration) -> String {
    if d.as_secs() == 0 {
        return format!("{}ms", d.as_millis());
    }
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// Why a Go duration string did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {0:?} (examples: 90s, 30m, 1h30m, 1.5h)")]
pub struct DurationParseError(pub String);

/// Parses Go's `time.ParseDuration` syntax (`300ms`, `1.5h`, `1h30m`, `-2m`) into
/// nanoseconds.
pub fn parse_go_duration(text: &str) -> Result<i64, DurationParseError> {
    let err = || DurationParseError(text.to_owned());
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(err());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(err)?;
        let (num, tail) = rest.split_at(num_len);
        let value: f64 = num.parse().map_err(|_| err())?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale = match unit {
            "ns" => 1.0,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(err()),
        };
        total += value * scale;
        rest = tail;
    }
    if total > i64::MAX as f64 {
        return Err(err());
    }
    let nanos = total as i64;
    Ok(if negative { -nanos } else { nanos })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn far_dates_clamp_instead_of_failing() {
        assert_eq!(ts("9999-12-31T23:59:59Z").unix_nanos(), i64::MAX);
        assert_eq!(ts("0001-01-01T00:00:00Z").unix_nanos(), i64::MIN);
    }

    #[test]
    fn compact_utc_for_file_names() {
        assert_eq!(
            ts("2026-05-13T08:42:01.157Z").to_compact_utc(),
            "20260513T084201Z"
        );
    }

    #[test]
    fn formats_like_go_rfc3339_nano() {
        assert_eq!(
            ts("2026-05-12T10:00:00Z").to_rfc3339_nano(),
            "2026-05-12T10:00:00Z"
        );
        assert_eq!(
            ts("2026-05-12T10:00:00.120000000Z").to_rfc3339_nano(),
            "2026-05-12T10:00:00.12Z"
        );
        assert_eq!(
            ts("2026-05-12T12:00:00.5+02:00").to_rfc3339_nano(),
            "2026-05-12T10:00:00.5Z"
        );
    }

    #[test]
    fn truncates_to_microseconds() {
        let t = ts("2026-05-11T22:30:00.123456789Z").truncate_to_micros();
        assert_eq!(t.to_rfc3339_nano(), "2026-05-11T22:30:00.123456Z");
    }

    #[test]
    fn unix_seconds_floor() {
        assert_eq!(Timestamp::from_unix_nanos(1_999_999_999).unix_seconds(), 1);
        assert_eq!(Timestamp::from_unix_nanos(-1).unix_seconds(), -1);
    }

    #[test]
    fn rejects_garbage() {
        assert!(Timestamp::parse_rfc3339("yesterday").is_err());
    }

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse_go_duration("1h"), Ok(3_600_000_000_000));
        assert_eq!(parse_go_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_go_duration("1.5h"), Ok(5_400_000_000_000));
        assert_eq!(parse_go_duration("300ms"), Ok(300_000_000));
        assert_eq!(parse_go_duration("-2m"), Ok(-120_000_000_000));
        assert_eq!(parse_go_duration("0"), Ok(0));
        for bad in ["", "1", "h", "1x", "1h-", "--1h"] {
            assert!(parse_go_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn go_durations() {
        let secs = std::time::Duration::from_secs;
        assert_eq!(go_duration(secs(300)), "5m0s");
        assert_eq!(go_duration(secs(45)), "45s");
        assert_eq!(go_duration(secs(3600)), "1h0m0s");
        assert_eq!(go_duration(std::time::Duration::from_millis(300)), "300ms");
    }
}

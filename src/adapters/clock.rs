//! The system clock: the one sanctioned read of wall time.

use crate::domain::time::Timestamp;
use crate::ports::Clock;

/// Reads the operating system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one sanctioned read of the wall clock
    fn now(&self) -> Timestamp {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp::from_unix_nanos(i64::try_from(since_epoch.as_nanos()).unwrap_or(i64::MAX))
    }
}

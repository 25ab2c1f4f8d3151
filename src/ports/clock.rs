//! Where time comes from.

use crate::domain::time::Timestamp;

/// The current time. Production reads the system clock; tests pin or advance it.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

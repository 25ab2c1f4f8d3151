//! Call budgets from `max_calls` caveats.
//!
//! The store counts every call that reaches the budget stage (denied ones too, as the
//! reference does); the domain then compares the new count with each limit in chain
//! order. A call is allowed only while `used <= min(limits)`, so the strictest caveat
//! always wins, and since the count is an atomic increment, allowed calls never exceed it.

/// How long a token's counter lives, from its first counted call (fixed window).
pub const WINDOW_SECS: i64 = 24 * 60 * 60;

/// The counter key for a token: its tenant and `jti` (attenuated children share it).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BudgetKey {
    pub tenant: String,
    pub jti: String,
}

/// `used` passed the first `limit` in chain order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("max_calls exceeded ({used} > {limit})")]
pub struct BudgetExceeded {
    pub used: u64,
    pub limit: u64,
}

/// Compares the count after this call with each limit, in chain order.
pub fn check(used: u64, limits: &[u64]) -> Result<(), BudgetExceeded> {
    match limits.iter().find(|limit| used > **limit) {
        Some(&limit) => Err(BudgetExceeded { used, limit }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_exceeded_limit_in_chain_order_is_reported() {
        assert_eq!(check(1, &[5, 1]), Ok(()));
        let err = check(2, &[5, 1]).unwrap_err();
        assert_eq!(err.to_string(), "max_calls exceeded (2 > 1)");
        assert_eq!(check(7, &[5, 1]).unwrap_err().limit, 5);
    }

    #[test]
    fn no_limits_never_exceeds() {
        assert_eq!(check(u64::MAX, &[]), Ok(()));
    }
}

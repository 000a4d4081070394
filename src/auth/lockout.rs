//! The rules of throttling password guessing, without storage: which failures count, when an
//! account locks and for how long, and when an address is throttled. Counts come from the
//! database (shared by every node); this module only decides.

use crate::config::LockoutSettings;

/// Failures to one account count within this window.
pub const ACCOUNT_WINDOW_SECS: i64 = 15 * 60;
/// Failures from one address count within this window.
pub const IP_WINDOW_SECS: i64 = 10 * 60;
/// No lock lasts longer than a day.
const MAX_LOCK_SECS: i64 = 24 * 3600;

/// The lockout rules in force.
#[derive(Debug, Clone)]
pub struct LockoutPolicy {
    settings: LockoutSettings,
}

impl LockoutPolicy {
    /// Rules from settings.
    pub fn new(settings: LockoutSettings) -> Self {
        Self { settings }
    }

    /// Whether `failures` recent failures to one account call for a lock.
    pub fn locks_account(&self, failures: i64) -> bool {
        self.settings.threshold > 0 && failures >= i64::from(self.settings.threshold)
    }

    /// How long the `nth` lock in a row lasts (1 for the first): the configured duration,
    /// doubling each time, at most a day.
    pub fn lock_secs(&self, nth: i64) -> i64 {
        let doublings = (nth - 1).clamp(0, 20) as u32;
        self.settings
            .duration_secs
            .saturating_mul(1i64 << doublings)
            .min(MAX_LOCK_SECS)
    }

    /// The failures from one address that throttle it, if throttling is on.
    pub fn ip_threshold(&self) -> Option<i64> {
        (self.settings.ip_threshold > 0).then(|| i64::from(self.settings.ip_threshold))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(threshold: u32, ip_threshold: u32) -> LockoutPolicy {
        LockoutPolicy::new(LockoutSettings {
            threshold,
            duration_secs: 900,
            ip_threshold,
        })
    }

    #[test]
    fn locks_double_up_to_a_day() {
        let p = policy(5, 50);
        assert_eq!(p.lock_secs(1), 900);
        assert_eq!(p.lock_secs(2), 1800);
        assert_eq!(p.lock_secs(5), 14_400);
        assert_eq!(p.lock_secs(7), 57_600);
        assert_eq!(p.lock_secs(8), 24 * 3600);
        assert_eq!(p.lock_secs(1000), 24 * 3600);
    }

    #[test]
    fn zero_turns_limits_off() {
        let p = policy(0, 0);
        assert!(!p.locks_account(1_000_000));
        assert_eq!(p.ip_threshold(), None);
        let p = policy(5, 50);
        assert!(!p.locks_account(4));
        assert!(p.locks_account(5));
        assert_eq!(p.ip_threshold(), Some(50));
    }
}

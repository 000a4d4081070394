//! Time as a parameter: the domain asks a [`Clock`] instead of reading the system time, so
//! tests can move time forward without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time in whole seconds since the Unix epoch.
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the Unix epoch.
    fn now(&self) -> i64;
}

/// The shared clock handle carried in the application state.
pub type SharedClock = Arc<dyn Clock>;

#[allow(clippy::disallowed_methods)] // The one place that reads the system clock.
fn system_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Formats Unix seconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_time(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        })
        .unwrap_or_else(|_| seconds.to_string())
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        system_seconds()
    }
}

/// The system clock plus an offset that tests move forward; frozen, it stands still but for
/// that offset.
#[derive(Debug, Default, Clone)]
pub struct TestClock {
    offset: Arc<AtomicI64>,
    /// The second it was frozen at; 0 while it runs.
    frozen_at: Arc<AtomicI64>,
}

impl TestClock {
    /// A clock that starts at the system time.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::SeqCst);
    }

    /// Stops real time from moving the clock, for tests whose requests must fall within one
    /// interval however slowly the machine runs them.
    pub fn freeze(&self) {
        self.frozen_at.store(system_seconds(), Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> i64 {
        let base = match self.frozen_at.load(Ordering::SeqCst) {
            0 => system_seconds(),
            frozen_at => frozen_at,
        };
        base + self.offset.load(Ordering::SeqCst)
    }
}

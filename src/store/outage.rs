//! When this process last found its database unreachable. The pool hands out idle connections
//! untested (a ping per checkout doubled the round trips of the hot paths), so a connection
//! that sat idle while the database restarted is broken and would fail the first request to
//! take it. Once an outage is seen, a connection idle since before it is tested before reuse;
//! connections used since, and every connection while no outage was seen, go out untested.
//!
//! The record is for the whole process: an outage seen by one pool (tests run several) only
//! costs the others a ping per connection idle across it.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The instant the record below counts from.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// One more than the microseconds after [`epoch`] of the last outage seen; 0 while none was.
static LAST_SEEN: AtomicU64 = AtomicU64::new(0);

/// Records that a statement failed just now because its connection to the database broke.
pub(super) fn seen() {
    let at = u64::try_from(epoch().elapsed().as_micros()).unwrap_or(u64::MAX - 1) + 1;
    LAST_SEEN.fetch_max(at, Ordering::Relaxed);
}

/// Whether a connection idle for `idle_for` has been idle since before the last outage seen.
pub(super) fn outlived_by(idle_for: Duration) -> bool {
    match LAST_SEEN.load(Ordering::Relaxed) {
        0 => false,
        last => {
            idle_for
                >= epoch()
                    .elapsed()
                    .saturating_sub(Duration::from_micros(last - 1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_idle_across_an_outage_are_suspect_and_later_ones_are_not() {
        seen();
        std::thread::sleep(Duration::from_millis(5));
        assert!(
            outlived_by(Duration::from_secs(60)),
            "idle since before the outage"
        );
        assert!(
            !outlived_by(Duration::from_millis(1)),
            "put back after the outage"
        );
    }
}

//! The provider: what every grant and endpoint needs (storage, keys, time, settings).

use crate::clock::SharedClock;
use crate::config::TokenSettings;
use crate::signing::KeyRing;
use crate::store::Db;

/// How long an authorization code lives (RFC 6749 §4.1.2 recommends at most 10 minutes).
pub const CODE_TTL_SECS: i64 = 60;

/// The protocol engine shared by the OAuth endpoints.
#[derive(Debug, Clone)]
pub struct Provider {
    /// Storage.
    pub db: Db,
    /// Signing keys.
    pub keys: KeyRing,
    /// Time.
    pub clock: SharedClock,
    /// Issuer identifier.
    pub issuer: String,
    /// Token lifetimes and algorithms.
    pub tokens: TokenSettings,
}

impl std::fmt::Debug for dyn crate::clock::Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}

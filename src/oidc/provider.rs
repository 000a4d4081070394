//! The provider: what minting and verifying tokens needs (keys, time, issuer, lifetimes).

use crate::clock::SharedClock;
use crate::config::TokenSettings;
use crate::signing::KeyRing;

/// The protocol engine shared by the OAuth endpoints.
#[derive(Debug, Clone)]
pub struct Provider {
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

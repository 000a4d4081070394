//! The state every handler shares. Cheap to clone: everything inside is reference-counted.

use std::sync::Arc;

use crate::auth::password::PasswordHasher;
use crate::auth::session::SessionPolicy;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::oidc::Provider;
use crate::render::Templates;
use crate::signing::KeyRing;
use crate::store::Db;

/// Shared application state.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Validated configuration.
    pub config: Arc<Config>,
    /// Storage.
    pub db: Db,
    /// Signing keys.
    pub keys: KeyRing,
    /// Time.
    pub clock: SharedClock,
    /// HTML templates.
    pub templates: Templates,
    /// Password hashing.
    pub passwords: PasswordHasher,
    /// Session lifetimes.
    pub sessions: SessionPolicy,
    /// The OAuth/OIDC engine.
    pub provider: Provider,
    /// The discovery document, serialised once.
    pub discovery: Arc<[u8]>,
}

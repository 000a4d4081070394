//! The state every handler shares. Cheap to clone: everything inside is reference-counted.

use std::sync::Arc;

use crate::config::Config;
use crate::render::Templates;
use crate::services::Services;
use crate::web::csrf::Csrf;

/// Shared application state.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Validated configuration.
    pub config: Arc<Config>,
    /// The use cases: the only way handlers change or read stored state.
    pub services: Services,
    /// HTML templates.
    pub templates: Templates,
    /// The discovery document, serialised once.
    pub discovery: Arc<[u8]>,
    /// CSRF protection of the hosted forms (its key is derived from the master key).
    pub csrf: Csrf,
}

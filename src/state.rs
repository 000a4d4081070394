//! The state every handler shares. Cheap to clone: everything inside is reference-counted.

use std::sync::Arc;

use crate::config::Config;
use crate::render::Templates;
use crate::services::Services;

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
}

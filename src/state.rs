//! The state every handler shares.

use std::ops::Deref;
use std::sync::Arc;

use crate::config::Config;
use crate::render::Templates;
use crate::services::Services;
use crate::web::csrf::Csrf;

/// Shared application state: a handle to one [`Shared`]. axum clones the state for every
/// request, once per middleware and handler that takes it; a handle costs one reference
/// count, where cloning the fields cost one per reference-counted part inside them
/// (measured: a tenth of the CPU of a discovery request).
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// Shares `shared` among every request.
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What every request can reach.
#[derive(Debug)]
pub struct Shared {
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

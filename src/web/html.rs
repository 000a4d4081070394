//! Rendering a hosted page: the template with its context, never cached (pages carry CSRF
//! tokens or personal data).

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

use crate::error::AppError;
use crate::state::AppState;

/// Renders a page that must not be cached.
pub fn page(
    state: &AppState,
    template: &str,
    context: impl serde::Serialize,
) -> Result<Response, AppError> {
    let html = state.templates.render(template, context)?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response())
}

//! The hosted pages: one file per page, GET and POST side by side.

pub mod account;
pub mod consent;
pub mod login;
pub mod logout;

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

use crate::error::AppError;
use crate::state::AppState;

/// Renders a page that must not be cached (it carries a CSRF token or personal data).
pub fn page(
    state: &AppState,
    template: &str,
    context: impl serde::Serialize,
) -> Result<Response, AppError> {
    let html = state.templates.render(template, context)?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response())
}

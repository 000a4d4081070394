//! Rendering a hosted page: the template with its context, never cached (pages carry CSRF
//! tokens or personal data), and the generic notice page.

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde_json::Value;

use crate::error::AppError;
use crate::state::AppState;
use crate::web::csrf;

/// Renders a page that must not be cached.
pub fn page(
    state: &AppState,
    template: &str,
    context: impl serde::Serialize,
) -> Result<Response, AppError> {
    let html = state.templates.render(template, context)?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response())
}

/// Renders a page with forms: `context` (a JSON object) gains the browser's CSRF token.
pub fn form_page(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    template: &str,
    mut context: Value,
) -> Result<Response, AppError> {
    let (jar, csrf_token) = csrf::token(jar, &state.csrf);
    if let Some(map) = context.as_object_mut() {
        map.insert("csrf_token".into(), csrf_token.into());
    }
    let body = page(state, template, context)?;
    Ok((status, jar, body).into_response())
}

/// Renders the generic notice page with `context` (title, message, link or form).
pub fn notice(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    context: Value,
) -> Result<Response, AppError> {
    form_page(state, jar, status, "notice.html", context)
}

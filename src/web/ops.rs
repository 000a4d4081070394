//! Operations endpoints (`/healthz`, `/readyz`), static assets and fallbacks.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::AppError;
use crate::render;
use crate::state::AppState;

/// Liveness: the process answers.
pub async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, axum::Json(json!({ "status": "ok" })))
}

/// Readiness: the database answers and signing keys are loaded; 503 with a reason otherwise.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.services.not_ready().await {
        None => (StatusCode::OK, axum::Json(json!({ "status": "ready" }))).into_response(),
        Some(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({ "status": "unavailable", "reason": reason })),
        )
            .into_response(),
    }
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// The stylesheet.
pub async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", render::STYLESHEET)
}

/// The form-post auto-submit script.
pub async fn form_post_script() -> Response {
    asset("text/javascript; charset=utf-8", render::FORM_POST_SCRIPT)
}

/// 404 for unknown paths.
pub async fn not_found() -> AppError {
    AppError::NotFound
}

/// 405 for known paths with the wrong method.
pub async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(
            json!({ "error": "invalid_request", "error_description": "method not allowed" }),
        ),
    )
        .into_response()
}

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

/// Serves `GET /metrics` (Prometheus text format) on the separate metrics listener until
/// `stop` flips. The gauges read from the database are refreshed at each scrape.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    services: crate::services::Services,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let app = axum::Router::new()
        .route("/metrics", axum::routing::get(metrics))
        .with_state(services);
    let stopped = async move {
        let _ = stop.changed().await;
    };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(stopped)
        .await
    {
        tracing::warn!(error = %e, "the metrics listener stopped");
    }
}

async fn metrics(State(services): State<crate::services::Services>) -> Response {
    if let Err(e) = services.observe_gauges().await {
        tracing::warn!(error = %e, "could not read the gauges for /metrics");
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::metrics::install().render(),
    )
        .into_response()
}

//! Discovery metadata and the JWKS: both serialised ahead of time, served as bytes.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

fn json_bytes(body: Bytes, cache: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response()
}

/// `GET /.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`.
pub async fn metadata(State(state): State<AppState>) -> Response {
    json_bytes(
        Bytes::from_owner(state.discovery.clone()),
        "public, max-age=3600",
    )
}

/// `GET /jwks`: cacheable for less than a key-reload period, so new keys are seen in time.
pub async fn jwks(State(state): State<AppState>) -> Response {
    json_bytes(
        Bytes::from_owner(state.services.keys().jwks()),
        "public, max-age=60",
    )
}

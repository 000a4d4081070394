//! `POST /introspect` (RFC 7662) and `POST /revoke` (RFC 7009), both client-authenticated.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::respond;
use super::token::{authenticate_client, client_endpoint_error};
use crate::oidc::OAuthError;
use crate::services::Caller;
use crate::state::AppState;
use crate::web::form;

/// `POST /introspect`.
pub async fn introspect(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let outcome = async {
        let params = form::body(&headers, body).await?;
        let client = authenticate_client(&state, &caller, &headers, &params).await?;
        state.services.introspect(&client, &params).await
    }
    .await;
    match outcome {
        Ok(body) => respond::no_store_json(StatusCode::OK, &serde_json::Value::Object(body)),
        Err(e) => client_endpoint_error(&headers, e),
    }
}

/// `POST /revoke`.
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let outcome = async {
        let params = form::body(&headers, body).await?;
        let client = authenticate_client(&state, &caller, &headers, &params).await?;
        state.services.revoke(&caller, &client, &params).await?;
        Ok::<_, OAuthError>(())
    }
    .await;
    match outcome {
        Ok(()) => (
            StatusCode::OK,
            [(axum::http::header::CACHE_CONTROL, "no-store")],
        )
            .into_response(),
        Err(e) => client_endpoint_error(&headers, e),
    }
}

//! `POST /token` (RFC 6749 §3.2): authenticates the client, then hands the request to the
//! grant's module. Every answer carries `Cache-Control: no-store`.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::{dpop, respond};
use crate::oidc::OAuthError;
use crate::oidc::client::Client;
use crate::oidc::client_auth;
use crate::oidc::params::Params;
use crate::services::Caller;
use crate::state::AppState;
use crate::web::form;

/// Authenticates the client of a token, introspection or revocation request.
pub async fn authenticate_client(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Client, OAuthError> {
    let authorization = match headers.get(header::AUTHORIZATION) {
        Some(v) => Some(v.to_str().map_err(|_| OAuthError::invalid_client())?),
        None => None,
    };
    let credentials = client_auth::credentials(authorization, params)?;
    state
        .services
        .authenticate_client(caller, credentials)
        .await
}

/// The JSON error of a client-authenticated endpoint.
pub fn client_endpoint_error(headers: &HeaderMap, error: OAuthError) -> Response {
    respond::json_error(error, headers.contains_key(header::AUTHORIZATION))
}

/// `POST /token`.
pub async fn token(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let response = match exchange(&state, &caller, &headers, body).await {
        Ok(body) => respond::no_store_json(StatusCode::OK, &body),
        Err(error) => client_endpoint_error(&headers, error),
    };
    dpop::with_nonce(&state, &headers, response)
}

async fn exchange(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: Body,
) -> Result<serde_json::Value, OAuthError> {
    let params = form::body(headers, body).await?;
    let client = authenticate_client(state, caller, headers, &params).await?;
    let proof = dpop::proof_header(headers)?;
    let response = state
        .services
        .token(caller, &client, &params, proof)
        .await?;
    tracing::debug!(client_id = ?client.id, grant_type = ?params.get("grant_type"), "tokens issued");
    serde_json::to_value(response).map_err(OAuthError::server_error)
}

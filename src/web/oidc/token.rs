//! `POST /token` (RFC 6749 §3.2): authenticates the client, then hands the request to the
//! grant's module. Every answer carries `Cache-Control: no-store`.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::respond;
use crate::oidc::client::{Client, GrantType};
use crate::oidc::client_auth;
use crate::oidc::params::Params;
use crate::oidc::{ErrorCode, OAuthError};
use crate::state::AppState;
use crate::web::form;

/// Authenticates the client of a token, introspection or revocation request.
pub async fn authenticate_client(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Client, OAuthError> {
    let authorization = match headers.get(header::AUTHORIZATION) {
        Some(v) => Some(v.to_str().map_err(|_| OAuthError::invalid_client())?),
        None => None,
    };
    let credentials = client_auth::credentials(authorization, params)?;
    if credentials.client_id.len() > 256 {
        return Err(OAuthError::invalid_client());
    }
    let client = state
        .db
        .find_client(&credentials.client_id)
        .await?
        .map(Client::from_row)
        .ok_or_else(OAuthError::invalid_client)?;
    client_auth::authenticate(&client, &credentials)?;
    Ok(client)
}

/// The JSON error of a client-authenticated endpoint.
pub fn client_endpoint_error(headers: &HeaderMap, error: OAuthError) -> Response {
    respond::json_error(error, headers.contains_key(header::AUTHORIZATION))
}

/// `POST /token`.
pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    match exchange(&state, &headers, body).await {
        Ok(body) => respond::no_store_json(StatusCode::OK, &body),
        Err(error) => client_endpoint_error(&headers, error),
    }
}

async fn exchange(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<serde_json::Value, OAuthError> {
    let params = form::body(headers, body).await?;
    let client = authenticate_client(state, headers, &params).await?;
    let grant_type = params.require("grant_type")?;
    let provider = &state.provider;
    let response = match GrantType::parse(grant_type) {
        Some(GrantType::AuthorizationCode) => provider.exchange_code(&client, &params).await?,
        Some(GrantType::RefreshToken) => provider.refresh(&client, &params).await?,
        Some(GrantType::ClientCredentials) => provider.client_credentials(&client, &params).await?,
        None => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!("grant_type '{grant_type}' is not supported"),
            ));
        }
    };
    tracing::info!(client_id = %client.id, grant_type, "tokens issued");
    serde_json::to_value(response).map_err(OAuthError::server_error)
}

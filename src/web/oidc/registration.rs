//! Dynamic Client Registration: `POST /connect/register` (RFC 7591 §3) and the client
//! configuration endpoint `GET|PUT|DELETE /connect/register/{client_id}` (RFC 7592 §2).
//! Errors are RFC 7591 §3.2.2 JSON; a bad token is a 401 bearer challenge (RFC 6750 §3).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::respond;
use crate::domain::Client;
use crate::oidc::client_metadata;
use crate::oidc::discovery::paths;
use crate::oidc::{ErrorCode, OAuthError};
use crate::services::Caller;
use crate::state::AppState;

/// The bearer token of the request, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

/// The JSON body.
async fn document(body: Body) -> Result<Value, OAuthError> {
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map_err(|_| OAuthError::invalid_request("the request body is too large or unreadable"))?;
    serde_json::from_slice(&bytes).map_err(|_| {
        OAuthError::new(
            ErrorCode::InvalidClientMetadata,
            "the body must be a JSON object of client metadata",
        )
    })
}

fn failure(error: OAuthError) -> Response {
    match error.code {
        ErrorCode::InvalidToken => respond::bearer_error(Some(error)),
        _ => respond::json_error(error, false),
    }
}

/// The configuration URI of a client.
fn configuration_uri(state: &AppState, client: &Client) -> String {
    format!(
        "{}{}/{}",
        state.config.issuer,
        paths::REGISTRATION,
        client.id
    )
}

/// `POST /connect/register`.
pub async fn register(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let outcome = async {
        let document = document(body).await?;
        state
            .services
            .register_self(&caller, bearer(&headers), &document)
            .await
    }
    .await;
    match outcome {
        Ok(registered) => {
            let mut body = client_metadata::describe(&registered.client);
            if let Some(secret) = &registered.secret {
                body.insert("client_secret".into(), json!(secret));
                body.insert("client_secret_expires_at".into(), json!(0));
            }
            body.insert(
                "registration_access_token".into(),
                json!(registered.registration_token),
            );
            body.insert(
                "registration_client_uri".into(),
                json!(configuration_uri(&state, &registered.client)),
            );
            respond::no_store_json(StatusCode::CREATED, &Value::Object(body))
        }
        Err(e) => failure(e),
    }
}

/// RFC 7592 §3: the client's configuration, with the registration access token that reads it.
fn configuration(state: &AppState, client: &Client, token: &str) -> Response {
    let mut body = client_metadata::describe(client);
    body.insert("registration_access_token".into(), json!(token));
    body.insert(
        "registration_client_uri".into(),
        json!(configuration_uri(state, client)),
    );
    respond::no_store_json(StatusCode::OK, &Value::Object(body))
}

/// `GET /connect/register/{client_id}`.
pub async fn read(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(token) = bearer(&headers) else {
        return respond::bearer_error(None);
    };
    match state.services.own_registration(&client_id, token).await {
        Ok(client) => configuration(&state, &client, token),
        Err(e) => failure(e),
    }
}

/// `PUT /connect/register/{client_id}`.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(token) = bearer(&headers) else {
        return respond::bearer_error(None);
    };
    let outcome = async {
        let document = document(body).await?;
        state
            .services
            .update_own_registration(&caller, &client_id, token, &document)
            .await
    }
    .await;
    match outcome {
        Ok(client) => configuration(&state, &client, token),
        Err(e) => failure(e),
    }
}

/// `DELETE /connect/register/{client_id}`: 204.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(token) = bearer(&headers) else {
        return respond::bearer_error(None);
    };
    match state
        .services
        .delete_own_registration(&caller, &client_id, token)
        .await
    {
        Ok(()) => (
            StatusCode::NO_CONTENT,
            [(header::CACHE_CONTROL, "no-store")],
        )
            .into_response(),
        Err(e) => failure(e),
    }
}

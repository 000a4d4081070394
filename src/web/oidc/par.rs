//! `POST /par` (RFC 9126 §2): a client-authenticated push of an authorization request.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::token::{authenticate_client, client_endpoint_error};
use super::{dpop, respond};
use crate::services::Caller;
use crate::state::AppState;
use crate::web::form;

/// `POST /par`: 201 with the `request_uri`, or an RFC 6749 §5.2 error.
pub async fn push(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let outcome = async {
        let params = form::body(&headers, body).await?;
        let client = authenticate_client(&state, &caller, &headers, &params).await?;
        let proof = dpop::proof_header(&headers)?;
        state
            .services
            .push_authorization_request(&client, &params, proof)
            .await
    }
    .await;
    let response = match outcome {
        Ok(pushed) => respond::no_store_json(StatusCode::CREATED, &serde_json::json!(pushed)),
        Err(e) => client_endpoint_error(&headers, e),
    };
    dpop::with_nonce(&state, &headers, response)
}

//! `POST /device_authorization` (RFC 8628 §3.1): a client-authenticated request for a
//! device code and a user code.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::respond;
use super::token::{authenticate_client, client_endpoint_error};
use crate::services::Caller;
use crate::state::AppState;
use crate::web::form;

/// `POST /device_authorization`: 200 with the codes, or an RFC 6749 §5.2 error.
pub async fn authorize(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let outcome = async {
        let params = form::body(&headers, body).await?;
        let client = authenticate_client(&state, &caller, &headers, &params).await?;
        state
            .services
            .start_device_authorization(&client, &params)
            .await
    }
    .await;
    match outcome {
        Ok(codes) => respond::no_store_json(StatusCode::OK, &serde_json::json!(codes)),
        Err(e) => client_endpoint_error(&headers, e),
    }
}

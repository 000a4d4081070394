//! `GET|POST /userinfo` (OpenID Connect Core §5.3): the bearer token comes in the
//! Authorization header or, for POST, the form body (RFC 6750 §2.1–2.2), never both.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::respond;
use crate::oidc::OAuthError;
use crate::state::AppState;
use crate::web::form;

/// The token of an `Authorization: Bearer` header; `Err` when the header is malformed.
fn bearer(headers: &HeaderMap) -> Result<Option<String>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed =
        || OAuthError::invalid_request("the Authorization header must be 'Bearer <token>'");
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(malformed());
    }
    Ok(Some(token.trim().to_string()))
}

async fn answer(state: &AppState, token: Result<Option<String>, OAuthError>) -> Response {
    let token = match token {
        Ok(Some(token)) => token,
        Ok(None) => return respond::bearer_error(None),
        Err(e) => return respond::bearer_error(Some(e)),
    };
    match state.services.userinfo(&token).await {
        Ok(claims) => respond::no_store_json(StatusCode::OK, &serde_json::Value::Object(claims)),
        Err(e) => respond::bearer_error(Some(e)),
    }
}

/// `GET /userinfo`.
pub async fn get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    answer(&state, bearer(&headers)).await
}

/// `POST /userinfo`.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let from_header = bearer(&headers);
    let token = if form::is_form(&headers) {
        match form::body(&headers, body).await {
            Err(e) => Err(e),
            Ok(params) => match (from_header, params.get("access_token")) {
                (Ok(Some(_)), Some(_)) => {
                    Err(OAuthError::invalid_request("send the token only once"))
                }
                (Ok(None), Some(t)) => Ok(Some(t.to_string())),
                (other, None) => other,
                (Err(e), Some(_)) => Err(e),
            },
        }
    } else {
        from_header
    };
    answer(&state, token).await
}

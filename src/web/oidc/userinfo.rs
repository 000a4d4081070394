//! `GET|POST /userinfo` (OpenID Connect Core §5.3): the access token comes in the
//! Authorization header (`Bearer`, or `DPoP` with a proof: RFC 9449 §7) or, for POST, the
//! form body (RFC 6750 §2.1–2.2), never both.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;

use super::dpop::{self, Token, authorization};
use super::respond;
use crate::oidc::OAuthError;
use crate::oidc::discovery::paths;
use crate::services::dpop::DpopRequest;
use crate::services::tokens::Presented;
use crate::state::AppState;
use crate::web::form;

async fn answer(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    token: Result<Option<Token>, OAuthError>,
) -> Response {
    let dpop_scheme = matches!(&token, Ok(Some((_, true))));
    let outcome = async {
        let Some((token, dpop_scheme)) = token? else {
            return Ok(None);
        };
        let presented = Presented {
            token: &token,
            dpop_scheme,
            dpop: DpopRequest {
                proof: dpop::proof_header(headers)?,
                method: method.as_str(),
                path: paths::USERINFO,
            },
        };
        state.services.userinfo(&presented).await.map(Some)
    }
    .await;
    let response = match outcome {
        Ok(Some(claims)) => {
            respond::no_store_json(StatusCode::OK, &serde_json::Value::Object(claims))
        }
        Ok(None) => respond::bearer_error(None),
        Err(e) if dpop_scheme || dpop::is_dpop_error(&e) => respond::dpop_error(e),
        Err(e) => respond::bearer_error(Some(e)),
    };
    dpop::with_nonce(state, headers, response)
}

/// `GET /userinfo`.
pub async fn get(State(state): State<AppState>, method: Method, headers: HeaderMap) -> Response {
    let token = authorization(&headers);
    answer(&state, &method, &headers, token).await
}

/// `POST /userinfo`.
pub async fn post(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let from_header = authorization(&headers);
    let token = if form::is_form(&headers) {
        match form::body(&headers, body).await {
            Err(e) => Err(e),
            Ok(params) => match (from_header, params.get("access_token")) {
                (Ok(Some(_)), Some(_)) => {
                    Err(OAuthError::invalid_request("send the token only once"))
                }
                (Ok(None), Some(t)) => Ok(Some((t.to_string(), false))),
                (other, None) => other,
                (Err(e), Some(_)) => Err(e),
            },
        }
    } else {
        from_header
    };
    answer(&state, &method, &headers, token).await
}

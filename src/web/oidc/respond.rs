//! Rendering protocol answers: JSON errors (RFC 6749 §5.2), bearer challenges (RFC 6750 §3),
//! and authorization responses by redirect or form post.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::json;

use crate::error::AppError;
use crate::oidc::authorize::{ResponseMode, ResponseTarget, response_parameters};
use crate::oidc::{ErrorCode, OAuthError};
use crate::state::AppState;

/// Logs a protocol error. Descriptions may quote what a client sent, so they are logged with
/// Debug formatting, which escapes control characters and cannot forge a log line.
fn log(error: &OAuthError) {
    match error.code {
        ErrorCode::ServerError | ErrorCode::TemporarilyUnavailable => {
            tracing::error!(error = error.code.as_str(), description = ?error.description, cause = error.cause.as_deref().unwrap_or(""), "request failed");
        }
        _ => {
            tracing::debug!(error = error.code.as_str(), description = ?error.description, "request refused")
        }
    }
}

fn status_of(error: &OAuthError) -> StatusCode {
    StatusCode::from_u16(error.code.status()).unwrap_or(StatusCode::BAD_REQUEST)
}

/// A JSON body that must not be cached (RFC 6749 §5.1).
pub fn no_store_json(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// RFC 6749 §5.2: a JSON error. `basic_challenge` adds `WWW-Authenticate: Basic` to an
/// `invalid_client` answer when the client tried HTTP Basic (§5.2 requires it).
pub fn json_error(error: OAuthError, basic_challenge: bool) -> Response {
    log(&error);
    let body = json!({ "error": error.code.as_str(), "error_description": error.description });
    let mut response = no_store_json(status_of(&error), &body);
    // The code, for layers that add headers to some errors (`DPoP-Nonce`).
    response.extensions_mut().insert(error.code);
    if error.code == ErrorCode::InvalidClient && basic_challenge {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"tessera\", charset=\"UTF-8\""),
        );
    }
    response
}

/// RFC 6750 §3: a bearer-token error with its `WWW-Authenticate` challenge. With no token
/// at all, the challenge carries no error code (§3.1).
pub fn bearer_error(error: Option<OAuthError>) -> Response {
    let Some(error) = error else {
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"tessera\""),
        );
        return response;
    };
    log(&error);
    let challenge = format!(
        "Bearer realm=\"tessera\", error=\"{}\", error_description=\"{}\"",
        error.code.as_str(),
        error.description.replace(['"', '\\'], "'")
    );
    let body = json!({ "error": error.code.as_str(), "error_description": error.description });
    let mut response = no_store_json(status_of(&error), &body);
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// RFC 9449 §7.1: an error of a DPoP-bound request to a resource, 401 with a `DPoP`
/// challenge naming the accepted algorithms.
pub fn dpop_error(error: OAuthError) -> Response {
    log(&error);
    let status = match error.code {
        ErrorCode::InvalidRequest => StatusCode::BAD_REQUEST,
        ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
        ErrorCode::ServerError | ErrorCode::TemporarilyUnavailable => status_of(&error),
        _ => StatusCode::UNAUTHORIZED,
    };
    let algs: Vec<&str> = crate::oidc::dpop::ALGS.iter().map(|a| a.as_str()).collect();
    let challenge = format!(
        "DPoP algs=\"{}\", error=\"{}\", error_description=\"{}\"",
        algs.join(" "),
        error.code.as_str(),
        error.description.replace(['"', '\\'], "'")
    );
    let body = json!({ "error": error.code.as_str(), "error_description": error.description });
    let mut response = no_store_json(status, &body);
    response.extensions_mut().insert(error.code);
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// Sends an authorization response (a code or an error) to the client's redirect URI.
pub fn authorization_response(
    state: &AppState,
    target: &ResponseTarget,
    outcome: Result<&str, &OAuthError>,
) -> Result<Response, AppError> {
    if let Err(error) = outcome {
        log(error);
    }
    let params = response_parameters(target, &state.config.issuer, outcome);
    match target.response_mode {
        ResponseMode::Query => {
            let mut url = url::Url::parse(&target.redirect_uri).map_err(|e| {
                AppError::Internal(anyhow::anyhow!(
                    "registered redirect URI no longer parses: {e}"
                ))
            })?;
            url.query_pairs_mut()
                .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
            Ok(Redirect::to(url.as_str()).into_response())
        }
        ResponseMode::FormPost => {
            let fields: Vec<_> = params
                .iter()
                .map(|(k, v)| json!({ "name": k, "value": v }))
                .collect();
            let html = state.templates.render(
                "form_post.html",
                json!({ "redirect_uri": target.redirect_uri, "params": fields }),
            )?;
            Ok(([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response())
        }
    }
}

//! Reading request parameters from a query string or an urlencoded body, with the checks
//! RFC 6749 §3.1–3.2 asks for, so malformed input gets a protocol error, never axum's text.

use axum::body::Body;
use axum::http::{HeaderMap, Uri, header};

use crate::oidc::OAuthError;
use crate::oidc::params::Params;

/// Parameters of a query string.
pub fn query(uri: &Uri) -> Result<Params, OAuthError> {
    Params::parse(uri.query().unwrap_or_default().as_bytes())
}

/// Whether the request declares an urlencoded body.
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Parameters of an `application/x-www-form-urlencoded` body.
pub async fn body(headers: &HeaderMap, body: Body) -> Result<Params, OAuthError> {
    if !is_form(headers) {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let bytes = axum::body::to_bytes(body, super::BODY_LIMIT_BYTES)
        .await
        .map_err(|_| OAuthError::invalid_request("the request body is too large or unreadable"))?;
    Params::parse(&bytes)
}
